"""A ``@task`` function as a django_jobs definition: named by its module path, version 1.

Only registered definitions ever run (SPEC §11), so every ``@task`` a worker may meet must be
registered in the worker too. It is, as soon as its ``Task`` is built (the framework validates
every task with its backend, and ``JobsBackend.validate_task`` registers it), which happens
when the worker imports the apps' ``tasks.py`` and ``jobs.py`` modules at start-up.

The registered callable wraps the task function: with ``takes_context=True`` it builds the
framework's ``TaskContext`` for the running job; an ``async def`` task stays ``async def``, so
its ``effective_run_mode`` is "async" unless the task's own ``run_mode`` says otherwise.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async

from django_jobs.context import current_job
from django_jobs.exceptions import JobDefinitionError
from django_jobs.option_table import BACKEND, did_you_mean, names
from django_jobs.registry import Definition, job, registry
from django_jobs.registry.validate import checked_options
from django_jobs.tasks.compat import InvalidTask, InvalidTaskBackend, Task, TaskContext

#: The task function -> its definition (one per function, whichever backend saw it first).
_definitions: dict[Callable[..., Any], Definition] = {}


def task_options(alias: str, options: Any) -> dict[str, Any]:
    """Check a backend's ``OPTIONS`` with the ``@job`` option checks; return them normalised.

    The options it takes are the option table's ``BACKEND`` ones. Raises the framework's
    ``InvalidTaskBackend`` naming the setting and the option.
    """
    where = f"TASKS[{alias!r}]['OPTIONS']"
    if not isinstance(options, dict):
        raise InvalidTaskBackend(f"{where} must be a dict, got {type(options).__name__}")
    allowed = names(BACKEND)
    for option in options:
        if option not in allowed:
            raise InvalidTaskBackend(
                f"{where}: {option!r} is not a task option{did_you_mean(option, BACKEND)}; "
                f"the options are {', '.join(allowed)}"
            )
    try:
        return checked_options(f"every task of TASKS[{alias!r}]", dict(options), BACKEND)
    except JobDefinitionError as exc:
        raise InvalidTaskBackend(f"{where}: {exc}") from None


def definition_for(task: Task, options: dict[str, Any]) -> Definition:
    """The definition that runs ``task.func``, registered on first sight.

    Raises ``InvalidTask`` when it cannot be registered (say, a ``@job`` holds the name).
    """
    from django_jobs.tasks.task_class import job_options_of

    known = _definitions.get(task.func)
    if known is not None and registry.find(known.name, known.version) is known:
        return known
    try:
        definition = job(
            runner_for(task),
            name=task.module_path,
            version=1,
            queue=task.queue_name,
            priority=int(task.priority),
            **{**options, **job_options_of(task)},  # the task's own options win
        )
    except JobDefinitionError as exc:
        raise InvalidTask(f"task {task.module_path} cannot be registered: {exc}") from None
    _definitions[task.func] = definition
    return definition


def runner_for(task: Task) -> Callable[..., Any]:
    """The callable registered for ``task``: its function, given a context when it takes one."""
    func, takes_context = task.func, task.takes_context
    runner: Any
    if inspect.iscoroutinefunction(func):

        async def run_async(*args: Any, **kwargs: Any) -> Any:
            if takes_context:
                context = await sync_to_async(running_context, thread_sensitive=True)()
                return await func(context, *args, **kwargs)
            return await func(*args, **kwargs)

        runner = run_async
    else:

        def run_sync(*args: Any, **kwargs: Any) -> Any:
            if takes_context:
                return func(running_context(), *args, **kwargs)
            return func(*args, **kwargs)

        runner = run_sync
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(runner, attribute, getattr(func, attribute, None))
    signature = inspect.signature(func)
    if takes_context:  # callers pass the arguments after ``context``
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    runner.__signature__ = signature
    runner.task = task
    return runner


def running_context() -> TaskContext:
    """The ``TaskContext`` of the job this process runs now (its attempt number included)."""
    from django_jobs.tasks import results

    job = current_job.get()
    if job is None:
        raise RuntimeError(
            "a task that takes a context runs only as a job of a django_jobs worker; "
            "call task.call(context, ...) to run it directly"
        )
    return TaskContext(task_result=results.running_result(job))
