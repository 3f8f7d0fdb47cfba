"""Per-task job options for Django's own ``@task``: ``JobsBackend.task_class`` (Django 6.1+).

From Django 6.1, ``@task(...)`` hands every keyword it does not know itself to the backend's
``task_class``; that is how a Tasks backend offers options per task::

    @task(max_retries=5, retry_delay=30, backoff=Backoff.LINEAR, timeout=120, dead_letter=True)
    def send_receipt(order_id: int) -> None: ...

``JobsTask`` keeps them as ``job_options``. They are the options of ``@job`` and are checked by
``@job``'s own checks when the task is registered (as it is built), so a wrong one gives the
message ``@job`` gives, raised as the framework's ``InvalidTask``. They override the backend's
``OPTIONS`` for that task. They are the option table's ``TASK`` options
(``django_jobs.option_table``); the options a task expresses in the framework's own words
(queue, priority, name, version) and schedules (use ``@job``) are refused.

On Django 6.0 and with the django-tasks backport, ``@task`` passes nothing extra:
``JobsTask`` is ``None`` there and the backend keeps the framework's ``Task``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from django_jobs.option_table import task_refusals
from django_jobs.tasks.compat import InvalidTask, Task, task

#: ``@job`` options and arguments a task cannot take, and why (from the option table).
NOT_TASK_OPTIONS = task_refusals()


def framework_passes_options() -> bool:
    """Whether this framework's ``@task`` passes unknown keywords on (Django 6.1+)."""
    parameters = inspect.signature(task).parameters.values()
    return any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters)


def _define() -> type[Task]:
    task_fields = {f.name for f in fields(Task)}

    @dataclass(frozen=True, slots=True, kw_only=True, init=False)
    class JobsTask(Task):
        """A ``Task`` with ``@job`` options of its own, overriding the backend's ``OPTIONS``."""

        job_options: Mapping[str, Any] = field(default_factory=dict, hash=False)

        def __init__(self, *, job_options: Mapping[str, Any] | None = None, **kwargs: Any):
            options = dict(job_options or {})
            for name in [name for name in kwargs if name not in task_fields]:
                options[name] = kwargs.pop(name)
            for name in options:
                if name in NOT_TASK_OPTIONS:
                    raise InvalidTask(f"{name!r} is not a task option: {NOT_TASK_OPTIONS[name]}")
            object.__setattr__(self, "job_options", options)
            # The framework's __init__ sets the fields and validates (registers) the task.
            Task.__init__(self, **kwargs)

    JobsTask.__module__, JobsTask.__qualname__ = __name__, "JobsTask"  # importable, picklable
    return JobsTask


#: The backend's ``task_class`` where the framework passes options; ``None`` elsewhere.
JobsTask: type[Task] | None = _define() if framework_passes_options() else None


def job_options_of(task_: Task) -> dict[str, Any]:
    """The task's own job options (none for the framework's plain ``Task``)."""
    return dict(getattr(task_, "job_options", None) or {})
