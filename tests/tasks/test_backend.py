"""JobsBackend: the contract, enqueue, get_result and the input it refuses (nothing written)."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from django_jobs.backend import JobsBackend
from django_jobs.models import Job
from django_jobs.registry import job, registry
from django_jobs.retry import Backoff
from django_jobs.tasks.compat import (
    InvalidTask,
    InvalidTaskBackend,
    TaskResultDoesNotExist,
    TaskResultMismatch,
    TaskResultStatus,
    task_backends,
)
from tests.tasksapp import tasks
from tests.testapp import jobs as plain_jobs

try:
    from django.tasks import default_task_backend, task
except ImportError:
    from django_tasks import default_task_backend, task

pytestmark = pytest.mark.django_db


def _tasks_setting(**params):
    return {"default": {"BACKEND": "django_jobs.backend.JobsBackend", **params}}


def test_backend__is_the_configured_default_and_supports_everything():
    assert isinstance(task_backends["default"], JobsBackend)
    assert default_task_backend.supports_defer
    assert default_task_backend.supports_async_task
    assert default_task_backend.supports_get_result
    assert default_task_backend.supports_priority
    assert default_task_backend.queues == {"default", "tasks"}


def test_enqueue__writes_one_ready_job_marked_with_the_backend():
    result = tasks.add.enqueue(1, b=2)
    job = Job.objects.get(pk=result.id)
    assert (job.name, job.version) == ("tests.tasksapp.tasks.add", 1)
    assert (job.queue, job.priority) == ("default", 0)
    assert (job.args, job.kwargs, job.state) == ([1], {"b": 2}, "queued")
    assert job.meta == {"tasks_backend": "default"}
    assert job.max_attempts == 3  # OPTIONS max_retries=2
    assert result.status == TaskResultStatus.READY
    assert (result.args, result.kwargs, result.backend) == ([1], {"b": 2}, "default")
    assert result.enqueued_at == job.created_at
    assert result.task is tasks.add
    assert (result.started_at, result.finished_at, result.last_attempted_at) == (None, None, None)
    assert (result.errors, result.worker_ids, result.attempts) == ([], [], 0)


def test_enqueue__priority_queue_and_run_after_map_to_the_job():
    run_after = timezone.now() + timedelta(hours=1)
    result = tasks.add.using(priority=-7, queue_name="tasks", run_after=run_after).enqueue(1)
    job = Job.objects.get(pk=result.id)
    assert (job.priority, job.queue, job.run_at, job.state) == (-7, "tasks", run_after, "scheduled")
    assert tasks.label.enqueue("x").task.priority == 10


def test_get_result__round_trip_in_one_query(django_assert_num_queries):
    run_after = timezone.now() + timedelta(minutes=5)
    enqueued = tasks.add.using(priority=7, queue_name="tasks", run_after=run_after).enqueue(1, b=2)
    with django_assert_num_queries(1):
        fetched = default_task_backend.get_result(enqueued.id)
    for field in (
        "id",
        "status",
        "enqueued_at",
        "started_at",
        "finished_at",
        "last_attempted_at",
        "args",
        "kwargs",
        "backend",
        "errors",
        "worker_ids",
    ):
        assert getattr(fetched, field) == getattr(enqueued, field), field
    assert fetched.task.func is tasks.add.func
    assert (fetched.task.priority, fetched.task.queue_name) == (7, "tasks")
    assert fetched.task.run_after == run_after
    assert tasks.add.get_result(enqueued.id).id == enqueued.id


def test_get_result__with_attempts_is_still_one_query(django_assert_num_queries):
    from django_jobs.testing import run_jobs

    result = tasks.fails.enqueue("no")
    run_jobs()
    with django_assert_num_queries(1):
        fetched = default_task_backend.get_result(result.id)
    assert (fetched.status, len(fetched.errors), fetched.attempts) == ("FAILED", 3, 3)


def test_get_result__another_tasks_result_is_a_mismatch():
    result = tasks.add.enqueue(1)
    with pytest.raises(TaskResultMismatch):
        tasks.fails.get_result(result.id)


@pytest.mark.parametrize("result_id", ["nonsense", "0190f0f0-0000-7000-8000-000000000000"])
def test_get_result__unknown_id_does_not_exist(result_id):
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(result_id)


def test_get_result__a_plain_job_is_not_a_task_result():
    plain = plain_jobs.add.enqueue(1, 2)
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(str(plain.pk))


def test_get_result__a_job_of_another_backend_alias_does_not_exist(settings):
    result = tasks.add.enqueue(1)
    settings.TASKS = {**settings.TASKS, "other": {"BACKEND": "django_jobs.backend.JobsBackend"}}
    with pytest.raises(TaskResultDoesNotExist):
        task_backends["other"].get_result(result.id)


def test_validate_task__registers_the_task_as_a_definition():
    definition = registry.get("tests.tasksapp.tasks.label", 1)
    assert (definition.queue, definition.priority, definition.retries) == ("tasks", 10, 2)
    assert definition.effective_retry_delay is None
    assert registry.get("tests.tasksapp.tasks.async_add").is_async
    # takes_context: callers pass what follows ``context``
    assert list(registry.get("tests.tasksapp.tasks.flaky").signature.parameters) == ["succeed_on"]


def test_validate_task__tasks_in_jobs_py_are_registered_too():
    assert registry.find("tests.tasksapp.jobs.multiply", 1) is not None


def test_validate_task__a_name_held_by_a_job_is_refused(fresh_definitions):
    job(lambda: None, name="tests.tasksapp.tasks.clash")

    def clash() -> None:
        pass

    clash.__qualname__ = "clash"
    clash.__module__ = "tests.tasksapp.tasks"
    with pytest.raises(InvalidTask, match="cannot be registered"):
        task(clash)


# --- bad input: the framework's exceptions, nothing written -------------------------------


def test_bad_input__a_task_defined_in_a_function_is_refused():
    with pytest.raises(InvalidTask):

        @task
        def local() -> None:
            pass

    assert not Job.objects.exists()


def test_bad_input__naive_run_after_with_use_tz_is_refused():
    with pytest.raises(InvalidTask):
        tasks.add.using(run_after=datetime(2030, 1, 1)).enqueue(1)
    assert not Job.objects.exists()


@pytest.mark.parametrize("priority", [101, -101, 1.5])
def test_bad_input__priority_out_of_range_is_refused(priority):
    with pytest.raises(InvalidTask):
        tasks.add.using(priority=priority).enqueue(1)
    assert not Job.objects.exists()


def test_bad_input__a_queue_the_backend_does_not_list_is_refused():
    with pytest.raises(InvalidTask):
        tasks.add.using(queue_name="elsewhere").enqueue(1)
    assert not Job.objects.exists()


def test_bad_input__a_listed_queue_we_cannot_store_is_refused(settings):
    settings.TASKS = _tasks_setting(QUEUES=["default", "bad queue!"])
    with pytest.raises(InvalidTask, match="queue_name"):
        tasks.add.using(queue_name="bad queue!").enqueue(1)
    errors = list(default_task_backend.check())
    assert [e.id for e in errors] == ["django_jobs.E030"]
    assert "bad queue!" in errors[0].msg
    assert not Job.objects.exists()


def test_bad_input__arguments_that_are_not_json_are_refused():
    with pytest.raises(TypeError, match="JSON"):
        tasks.add.enqueue(object())
    with pytest.raises(TypeError, match="signature"):
        tasks.add.enqueue(1, c=3)
    assert not Job.objects.exists()


def test_check__a_valid_backend_reports_nothing():
    assert list(default_task_backend.check()) == []


# --- OPTIONS: per-task defaults --------------------------------------------------------------


def test_options__set_the_definitions_defaults(settings, fresh_definitions):
    settings.TASKS = _tasks_setting(
        QUEUES=[],
        OPTIONS={
            "max_retries": 5,
            "retry_delay": 2,
            "backoff": Backoff.LINEAR,
            "timeout": 30,
            "dead_letter": True,
        },
    )
    result = tasks.add.enqueue(1)
    definition = registry.get("tests.tasksapp.tasks.add")
    assert (definition.retries, definition.effective_retry_delay) == (5, 2.0)
    assert (definition.backoff, definition.timeout, definition.dead_letter) == (
        Backoff.LINEAR,
        30.0,
        True,
    )
    assert Job.objects.get(pk=result.id).max_attempts == 6


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": -1}, "'timeout' must be > 0"),
        ({"max_retries": "3"}, "'max_retries' must be an integer"),
        ({"backof": "linear"}, "did you mean 'backoff'"),
        ({"queue": "x"}, "is not a task option"),
        ([("timeout", 1)], "must be a dict"),
    ],
)
def test_options__invalid_ones_make_the_backend_invalid(settings, options, message):
    settings.TASKS = _tasks_setting(OPTIONS=options)
    with pytest.raises(InvalidTaskBackend, match=message):
        task_backends["default"]


def test_validate_task__a_task_in_models_py_is_registered_while_models_load():
    assert registry.find("tests.tasksapp.models.in_models", 1) is not None
