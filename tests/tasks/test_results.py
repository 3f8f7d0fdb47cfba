"""TaskResult from our rows, the task context, the framework's signals, aenqueue/aget_result.

The jobs run in-process here (``django_jobs.testing.run_jobs``: the worker's own execution and
recording steps); tests/tasks/test_worker.py runs them in real ``runjobs`` processes.
"""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils import timezone

from django_jobs.models import Job, JobAttempt, Outcome
from django_jobs.states import State
from django_jobs.tasks.compat import (
    TaskResultStatus,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)
from django_jobs.tasks.results import STATUS, task_error
from django_jobs.testing import run_jobs
from tests.tasksapp import tasks

pytestmark = pytest.mark.django_db


def test_status__every_state_maps_to_a_framework_status():
    assert set(STATUS) == set(State.values)
    assert STATUS[State.SCHEDULED] == STATUS[State.QUEUED] == TaskResultStatus.READY
    assert STATUS[State.RUNNING] == TaskResultStatus.RUNNING
    assert STATUS[State.SUCCEEDED] == TaskResultStatus.SUCCESSFUL
    assert STATUS[State.FAILED] == STATUS[State.CANCELLED] == TaskResultStatus.FAILED


def test_result__success_fills_times_return_value_and_worker():
    result = tasks.add.enqueue(2, b=3)
    run_jobs()
    result.refresh()
    job = Job.objects.get(pk=result.id)
    attempt = JobAttempt.objects.get(job=job)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
    assert result.started_at == attempt.started_at
    assert result.last_attempted_at == job.started_at
    assert result.finished_at == job.finished_at
    assert result.enqueued_at <= result.started_at <= result.finished_at
    assert result.worker_ids == [attempt.worker]
    assert (result.attempts, result.errors) == (1, [])


def test_result__failure_lists_every_attempts_error_with_its_traceback():
    result = tasks.fails.enqueue("bad input")
    run_jobs()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 3
    assert len(result.worker_ids) == 3
    assert [e.exception_class_path for e in result.errors] == ["builtins.ValueError"] * 3
    assert result.errors[0].exception_class is ValueError
    assert "ValueError: bad input" in result.errors[-1].traceback
    assert "raise ValueError(message)" in result.errors[-1].traceback
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value


def test_result__waiting_and_cancelled_jobs():
    later = tasks.add.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(1)
    assert later.status == TaskResultStatus.READY
    with pytest.raises(ValueError, match="not finished"):
        later.return_value
    Job.objects.get(pk=later.id).cancel()
    later.refresh()
    assert later.status == TaskResultStatus.FAILED
    assert later.finished_at is not None
    assert later.errors == []  # it never ran


def test_result__running_job_counts_the_attempt_under_way():
    result = tasks.add.enqueue(1)
    Job.objects.filter(pk=result.id).update(
        state=State.RUNNING, attempts=1, worker="w1", started_at=timezone.now()
    )
    result.refresh()
    assert result.status == TaskResultStatus.RUNNING
    assert (result.worker_ids, result.attempts) == (["w1"], 1)
    assert result.started_at == result.last_attempted_at


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Outcome.TIMEOUT, "django_jobs.exceptions.JobTimeout"),
        (Outcome.STALLED, "django_jobs.exceptions.JobTimeout"),
        (Outcome.LOST, "django_jobs.exceptions.JobInterrupted"),
        (Outcome.INTERRUPTED, "django_jobs.exceptions.JobInterrupted"),
        (Outcome.CANCELLED, "django_jobs.exceptions.JobCancelled"),
    ],
)
def test_result__attempts_ended_outside_the_code_get_an_importable_error(outcome, expected):
    from django_jobs.tasks.results import Attempt

    attempt = Attempt(1, "w", timezone.now(), outcome, "", "the worker went away", "")
    error = task_error(attempt)
    assert error.exception_class_path == expected
    assert error.traceback == "the worker went away"
    assert issubclass(error.exception_class, Exception)


# --- context and attempts ---------------------------------------------------------------------


def test_context__gives_the_attempt_number_and_the_running_result():
    result = tasks.flaky.enqueue(succeed_on=3)
    run_jobs()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    seen = result.return_value
    assert seen["attempt"] == 3
    assert seen["id"] == result.id
    assert seen["status"] == TaskResultStatus.RUNNING
    assert seen["worker_ids"] == result.worker_ids
    assert seen["errors"] == ["builtins.RuntimeError"] * 2
    assert seen["args"] == []
    assert [e.exception_class_path for e in result.errors] == ["builtins.RuntimeError"] * 2


def test_context__without_the_started_signal_it_reads_the_row():
    from django_jobs import signals as jobs_signals
    from django_jobs.tasks import signals

    jobs_signals.job_started.disconnect(dispatch_uid="django_jobs.tasks.started")
    try:
        result = tasks.flaky.enqueue(succeed_on=2)
        run_jobs()
    finally:
        signals.connect()
    seen = tasks.flaky.get_result(result.id).return_value
    assert (seen["attempt"], len(seen["worker_ids"])) == (2, 2)


@pytest.mark.django_db(transaction=True)
def test_context__async_task_gets_its_context():
    result = tasks.async_context.enqueue(value=4)
    run_jobs()
    result.refresh()
    assert result.return_value == {"attempt": 1, "id": result.id, "value": 4}


# --- the framework's signals ------------------------------------------------------------------


@pytest.fixture
def received():
    seen = []

    def receiver(signal):
        def record(sender, task_result, **kwargs):
            seen.append((signal, sender, task_result.id, task_result.status))

        return record

    receivers = {
        task_enqueued: receiver("enqueued"),
        task_started: receiver("started"),
        task_finished: receiver("finished"),
    }
    for signal, function in receivers.items():
        signal.connect(function)
    yield seen
    for signal, function in receivers.items():
        signal.disconnect(function)


@pytest.mark.django_db(transaction=True)
def test_signals__enqueued_started_finished_are_sent(received):
    backend_class = type(task_backends["default"])
    ok = tasks.add.enqueue(1)
    bad = tasks.fails.enqueue("no")
    run_jobs()
    assert [r for r in received if r[2] == ok.id] == [
        ("enqueued", backend_class, ok.id, "READY"),
        ("started", backend_class, ok.id, "RUNNING"),
        ("finished", backend_class, ok.id, "SUCCESSFUL"),
    ]
    # three attempts start; only the last one finishes the task
    assert [(r[0], r[3]) for r in received if r[2] == bad.id] == [
        ("enqueued", "READY"),
        ("started", "RUNNING"),
        ("started", "RUNNING"),
        ("started", "RUNNING"),
        ("finished", "FAILED"),
    ]


@pytest.mark.django_db(transaction=True)
def test_signals__a_cancelled_task_finishes_failed(received):
    result = tasks.add.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(1)
    Job.objects.get(pk=result.id).cancel()
    assert [(r[0], r[3]) for r in received] == [("enqueued", "READY"), ("finished", "FAILED")]


@pytest.mark.django_db(transaction=True)
def test_signals__plain_jobs_send_none(received):
    from tests.testapp import jobs as plain_jobs

    plain_jobs.add.enqueue(1, 2)
    run_jobs()
    assert received == []


@pytest.mark.django_db(transaction=True)
def test_signals__a_failing_receiver_breaks_nothing():
    def broken(sender, task_result, **kwargs):
        raise RuntimeError("receiver bug")

    task_started.connect(broken)
    try:
        result = tasks.add.enqueue(1, b=1)
        run_jobs()
    finally:
        task_started.disconnect(broken)
    assert tasks.add.get_result(result.id).return_value == 2


# --- async API ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_async__aenqueue_and_aget_result():
    async def scenario():
        try:
            result = await tasks.async_add.aenqueue(2, 3)
            return await tasks.async_add.aget_result(result.id)
        finally:  # the connection sync_to_async opened in its thread
            await sync_to_async(connections.close_all)()

    fetched = asyncio.run(scenario())
    assert fetched.status == TaskResultStatus.READY
    assert fetched.args == [2, 3]
    run_jobs()

    async def refresh():
        try:
            await fetched.arefresh()
        finally:
            await sync_to_async(connections.close_all)()

    asyncio.run(refresh())
    assert fetched.return_value == 5


@pytest.mark.django_db(transaction=True)
def test_inline__enqueue_runs_the_task_and_returns_its_outcome(settings):
    settings.DJANGO_JOBS_INLINE = True
    result = tasks.add.enqueue(3, b=4)
    assert (result.status, result.return_value, result.attempts) == ("SUCCESSFUL", 7, 1)
    failed = tasks.fails.enqueue("inline")
    assert (failed.status, failed.attempts) == ("FAILED", 3)


@pytest.mark.parametrize(
    "error_type",
    [
        "tests.tasks.import_canary.Boom",  # a real module that nothing has imported
        "json.decoder.JSONDecodeError.nested",  # not a class of an imported module
        "django_jobs.tasks.results.task_error",  # imported, but not an exception class
        "os.system",
        "",
    ],
)
def test_result__an_error_type_from_the_database_never_imports_a_module(error_type):
    import sys

    from django_jobs.tasks.results import Attempt

    attempt = Attempt(1, "w", timezone.now(), Outcome.FAILED, error_type, "boom", "")
    error = task_error(attempt)
    assert error.exception_class_path == "django_jobs.exceptions.JobsError"
    assert error.exception_class is not None
    assert "tests.tasks.import_canary" not in sys.modules


def test_result__an_error_type_of_a_loaded_module_is_handed_over():
    from django_jobs.tasks.results import Attempt

    attempt = Attempt(1, "w", timezone.now(), Outcome.FAILED, "builtins.ValueError", "x", "")
    assert task_error(attempt).exception_class is ValueError
