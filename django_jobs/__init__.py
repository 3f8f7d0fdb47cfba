"""django_jobs: background jobs that live in your Django project's own database.

Public names (imported lazily, so importing this package never touches Django models)::

    from django_jobs import job, RecurringJob, Cron, Backoff, heartbeat
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0.dev0"

_LAZY = {
    "job": "django_jobs.registry",
    "RecurringJob": "django_jobs.registry",
    "Cron": "django_jobs.schedules",
    "Backoff": "django_jobs.retry",
    "heartbeat": "django_jobs.context",
    "aheartbeat": "django_jobs.context",
    "JobWaitTimeout": "django_jobs.exceptions",
    "InvalidTransition": "django_jobs.exceptions",
    "JobDefinitionError": "django_jobs.exceptions",
    "JobFailed": "django_jobs.exceptions",
    "JobTimeout": "django_jobs.exceptions",
    "JobCancelled": "django_jobs.exceptions",
    "UnknownJob": "django_jobs.exceptions",
    "DuplicateJob": "django_jobs.exceptions",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'django_jobs' has no attribute {name!r}")
