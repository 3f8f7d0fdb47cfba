"""What a running job can reach: ``heartbeat()`` and the current job.

The worker sets the current job before each attempt. ``heartbeat()`` records that the job
is alive (and optionally its progress and meta), and is where a cancelled sync job learns
that it must stop: it raises ``JobCancelled``.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.exceptions import JobCancelled

if TYPE_CHECKING:
    from django_jobs.models import Job

current_job: contextvars.ContextVar[Job | None] = contextvars.ContextVar(
    "django_jobs_job", default=None
)


def heartbeat(progress: float | None = None, meta: dict[str, Any] | None = None) -> None:
    """Tell the worker this job is alive; store ``progress`` (0..1) and merge ``meta``.

    Outside a job it does nothing. Raises ``JobCancelled`` when the job has been cancelled.
    """
    from django_jobs.models import Job
    from django_jobs.states import State

    job = current_job.get()
    if job is None:
        return
    if progress is not None and (
        isinstance(progress, bool)
        or not isinstance(progress, (int, float))
        or not 0 <= progress <= 1
    ):
        raise ValueError(f"heartbeat(progress=...) must be a number from 0 to 1, got {progress!r}")
    now = timezone.now()
    fields: dict[str, Any] = {"heartbeat_at": now}
    if progress is not None:
        fields["progress"] = float(progress)
    if meta:
        fields["meta"] = {**(job.meta or {}), **meta}
    rows = Job.objects.using(jobs_settings.DATABASE).filter(
        pk=job.pk, state=State.RUNNING, claim_token=job.claim_token
    )
    rows.update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    if rows.filter(cancel_requested_at__isnull=False).exists():
        raise JobCancelled(f"job {job.pk} was cancelled")


async def aheartbeat(progress: float | None = None, meta: dict[str, Any] | None = None) -> None:
    """``heartbeat()`` for ``async def`` jobs: ``await aheartbeat(progress=0.5)``."""
    from asgiref.sync import sync_to_async

    await sync_to_async(heartbeat, thread_sensitive=True)(progress=progress, meta=meta)
