"""The Tasks backend and ``run_mode``: an ``async def`` task runs as "async", a task may say."""

import pytest

from django_jobs.registry import registry
from django_jobs.tasks.compat import InvalidTask, InvalidTaskBackend, task
from django_jobs.tasks.definitions import task_options
from django_jobs.tasks.task_class import JobsTask

needs_task_options = pytest.mark.skipif(
    JobsTask is None, reason="@task passes no options (Django 6.0)"
)


def plain(x: int) -> int:
    return x


async def coro(x: int) -> int:
    return x


def test_task_run_mode__async_def_task_runs_as_async():
    definition = registry.get("tests.tasksapp.tasks.async_add")
    assert (definition.run_mode, definition.effective_run_mode) == (None, "async")
    assert registry.get("tests.tasksapp.tasks.add").effective_run_mode == "process"


def test_task_run_mode__async_def_task_registered_now_runs_as_async(fresh_definitions):
    task(coro)
    assert registry.get("tests.unit.test_task_run_mode.coro").effective_run_mode == "async"


@needs_task_options
@pytest.mark.parametrize(("func", "run_mode"), [(coro, "process"), (plain, "thread")])
def test_task_run_mode__a_task_option_sets_it(fresh_definitions, func, run_mode):
    task(run_mode=run_mode)(func)
    definition = registry.get(f"tests.unit.test_task_run_mode.{func.__name__}")
    assert definition.effective_run_mode == run_mode


@needs_task_options
def test_task_run_mode__a_task_option_that_does_not_fit_is_refused(fresh_definitions):
    with pytest.raises(InvalidTask, match="run_mode='thread' needs a plain def function"):
        task(run_mode="thread")(coro)


@needs_task_options
def test_task_run_mode__durable_is_not_a_task_option(fresh_definitions):
    with pytest.raises(InvalidTask, match="'durable' is not a task option: a schedule is made"):
        task(durable=False)(plain)


def test_task_run_mode__not_a_backend_option():
    with pytest.raises(InvalidTaskBackend, match="'run_mode' is not a task option"):
        task_options("default", {"run_mode": "process"})
