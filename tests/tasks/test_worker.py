"""@task functions run by real ``runjobs`` processes: exit(), async, context, priority, run_after.

The worker learns the tasks by importing tests/tasksapp/tasks.py at start-up (autodiscover):
nothing is imported from the job rows.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from django_jobs.models import Job
from django_jobs.tasks.compat import TaskResultStatus
from tests.acceptance.conftest import Workers, wait_for
from tests.tasksapp import tasks

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers():
    started = Workers()
    yield started
    started.stop_all()


def _burst(workers):
    done = workers.run("--burst", "--concurrency", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _finished(*results):
    def check():
        for result in results:
            result.refresh()
        return all(result.is_finished for result in results)

    return check


def test_worker__a_task_calling_exit_fails_and_the_worker_goes_on(workers):
    process = workers.start("--concurrency", "1")
    exits = tasks.calls_exit.enqueue()
    after = tasks.add.enqueue(2, b=2)
    wait_for(_finished(exits, after), timeout=60)
    assert exits.status == TaskResultStatus.FAILED
    assert exits.attempts == 1  # SystemExit is not retried
    assert [e.exception_class_path for e in exits.errors] == ["builtins.SystemExit"]
    assert "exit(3)" in exits.errors[0].traceback
    assert (after.status, after.return_value) == (TaskResultStatus.SUCCESSFUL, 4)
    assert after.worker_ids == exits.worker_ids  # the same worker process ran both
    assert process.poll() is None


def test_worker__async_tasks_run(workers):
    plain = tasks.async_add.enqueue(20, 22)
    with_context = tasks.async_context.enqueue(value=7)
    _burst(workers)
    plain.refresh()
    with_context.refresh()
    assert (plain.status, plain.return_value) == (TaskResultStatus.SUCCESSFUL, 42)
    assert with_context.return_value == {"attempt": 1, "id": with_context.id, "value": 7}


def test_worker__context_counts_attempts_across_retries(workers):
    result = tasks.flaky.enqueue(succeed_on=3)
    _burst(workers)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    seen = result.return_value
    assert seen["attempt"] == 3
    assert seen["worker_ids"] == result.worker_ids
    assert len(result.worker_ids) == 3
    assert seen["errors"] == ["builtins.RuntimeError"] * 2
    assert len(result.errors) == 2


def test_worker__higher_priority_runs_first(workers):
    priorities = [-100, 5, 100, 0, -5, 50]
    results = {p: tasks.label.using(priority=p).enqueue(f"p{p}") for p in priorities}
    _burst(workers)
    order = list(
        Job.objects.filter(pk__in=[r.id for r in results.values()])
        .order_by("started_at")
        .values_list("priority", flat=True)
    )
    assert order == sorted(priorities, reverse=True)
    for priority, result in results.items():
        result.refresh()
        assert (result.task.priority, result.return_value) == (priority, f"p{priority}")


def test_worker__run_after_is_honoured(workers):
    run_after = timezone.now() + timedelta(seconds=3)
    later = tasks.add.using(run_after=run_after).enqueue(1)
    now = tasks.add.enqueue(2)
    workers.start("--concurrency", "1")
    wait_for(_finished(now), timeout=60)
    later.refresh()
    if timezone.now() < run_after:  # the worker is up and idle: the deferred task waits
        assert later.status == TaskResultStatus.READY
    wait_for(_finished(later), timeout=60)
    assert later.status == TaskResultStatus.SUCCESSFUL
    assert later.started_at >= run_after
    assert later.task.run_after == run_after
