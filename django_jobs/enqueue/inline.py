"""Inline mode (``DJANGO_JOBS_INLINE``): the new jobs of an enqueue run at once, in-process.

Running a job is the worker's work, a layer above enqueueing: so the app installs the
runner (``django_jobs.testing.run_inline``) in ``AppConfig.ready()``, and enqueueing calls
it through here without importing the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django_jobs.models import Job

_runner: Callable[[list[Job]], None] | None = None


def install(runner: Callable[[list[Job]], None]) -> None:
    """Make ``runner`` the function that runs freshly enqueued jobs in inline mode."""
    global _runner
    _runner = runner


def run(jobs: list[Job]) -> None:
    """Run these freshly enqueued jobs now (called after the enqueue's commit)."""
    if _runner is None:
        raise ImproperlyConfigured(
            "DJANGO_JOBS_INLINE needs the django_jobs app loaded: add 'django_jobs' to "
            "INSTALLED_APPS"
        )
    _runner(jobs)
