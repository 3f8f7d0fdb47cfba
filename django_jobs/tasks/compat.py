"""The Tasks framework's names, from ``django.tasks`` (Django 6+) or the ``django-tasks`` backport.

The two spell a few exceptions differently (``InvalidTask`` / ``InvalidTaskError``); the rest of
django_jobs imports the framework only from here. Type checkers see Django 6's names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.tasks import TaskContext, TaskResult, TaskResultStatus, task, task_backends
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import Task, TaskError
    from django.tasks.exceptions import (
        InvalidTask,
        InvalidTaskBackend,
        TaskResultDoesNotExist,
        TaskResultMismatch,
    )
    from django.tasks.signals import task_enqueued, task_finished, task_started
else:
    try:
        from django.tasks import TaskContext, TaskResult, TaskResultStatus, task, task_backends
        from django.tasks import exceptions as _exceptions
        from django.tasks import signals as _signals
        from django.tasks.backends.base import BaseTaskBackend
        from django.tasks.base import Task, TaskError
    except ImportError:
        try:
            from django_tasks import (
                TaskContext,
                TaskResult,
                TaskResultStatus,
                task,
                task_backends,
            )
            from django_tasks import exceptions as _exceptions
            from django_tasks import signals as _signals
            from django_tasks.backends.base import BaseTaskBackend
            from django_tasks.base import Task, TaskError
        except ImportError as exc:
            raise ImproperlyConfigured(
                "django_jobs.backend.JobsBackend needs Django's Tasks framework: Django 6 or "
                "later (django.tasks), or the django-tasks backport "
                "(pip install 'django-dbjobs[tasks]')"
            ) from exc

    InvalidTask = getattr(_exceptions, "InvalidTask", None) or _exceptions.InvalidTaskError
    InvalidTaskBackend = (
        getattr(_exceptions, "InvalidTaskBackend", None) or _exceptions.InvalidTaskBackendError
    )
    TaskResultDoesNotExist = _exceptions.TaskResultDoesNotExist
    TaskResultMismatch = _exceptions.TaskResultMismatch
    task_enqueued = _signals.task_enqueued
    task_started = _signals.task_started
    task_finished = _signals.task_finished

__all__ = [
    "BaseTaskBackend",
    "InvalidTask",
    "InvalidTaskBackend",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultMismatch",
    "TaskResultStatus",
    "task",
    "task_backends",
    "task_enqueued",
    "task_finished",
    "task_started",
]
