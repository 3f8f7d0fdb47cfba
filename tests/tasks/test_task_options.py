"""Per-task job options of Django's own ``@task`` (Django 6.1+): ``JobsBackend.task_class``."""

import pickle

import pytest

from django_jobs.models import Job
from django_jobs.registry import registry
from django_jobs.retry import Backoff
from django_jobs.tasks.compat import InvalidTask, Task, TaskResultStatus, task
from django_jobs.tasks.task_class import JobsTask
from django_jobs.testing import run_jobs

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(JobsTask is None, reason="@task passes no options (Django 6.0)"),
]

attempts_seen: list[int] = []


def flaky() -> str:
    attempts_seen.append(1)
    if len(attempts_seen) < 3:
        raise ValueError("not yet")
    return "done"


def plain(x: int) -> int:
    return x


def test_task_options__become_the_definitions_options(fresh_definitions):
    decorated = task(max_retries=5, retry_delay=2, backoff=Backoff.LINEAR, timeout=30)(plain)
    assert isinstance(decorated, JobsTask)
    definition = registry.get("tests.tasks.test_task_options.plain")
    assert (definition.retries, definition.effective_retry_delay) == (5, 2.0)
    assert (definition.backoff, definition.timeout) == (Backoff.LINEAR, 30.0)
    result = decorated.enqueue(1)
    assert Job.objects.get(pk=result.id).max_attempts == 6


def test_task_options__override_the_backends_options(fresh_definitions):
    # tests/settings.py: OPTIONS max_retries=2, retry_delay=None
    task(max_retries=0, dead_letter=True)(plain)
    definition = registry.get("tests.tasks.test_task_options.plain")
    assert (definition.retries, definition.dead_letter) == (0, True)
    assert definition.effective_retry_delay is None  # the backend's, kept


def test_task_options__retries_run(fresh_definitions):
    attempts_seen.clear()
    decorated = task(max_retries=3, retry_delay=None)(flaky)
    result = decorated.enqueue()
    run_jobs(until_empty=True)
    result.refresh()
    assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, "done")
    assert len(attempts_seen) == 3


def test_task_options__kept_by_using(fresh_definitions):
    decorated = task(max_retries=4)(plain)
    moved = decorated.using(priority=7)
    assert (moved.priority, moved.job_options) == (7, {"max_retries": 4})
    assert moved == decorated.using(priority=7)


@pytest.mark.skipif(not hasattr(Task, "_reconstruct"), reason="django.tasks pickles tasks")
def test_task_options__survive_pickling():
    from tests.tasksapp.tasks import with_options

    again = pickle.loads(pickle.dumps(with_options))
    assert (type(again), again.job_options) == (JobsTask, with_options.job_options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": -1}, "'timeout' must be > 0"),
        ({"max_retries": "3"}, "'max_retries' must be an integer"),
        ({"max_retires": 3}, "did you mean 'max_retries'"),
        ({"on_shutdown": "later"}, "on_shutdown"),
        ({"queue": "x"}, "queue_name"),
        ({"cron": "* * * * *"}, "@job"),
    ],
)
def test_task_options__invalid_ones_are_refused_with_jobs_message(
    fresh_definitions, options, message
):
    with pytest.raises(InvalidTask, match=message):
        task(**options)(plain)
    assert registry.find("tests.tasks.test_task_options.plain", 1) is None
