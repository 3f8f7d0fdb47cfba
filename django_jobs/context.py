"""What a running job can reach: ``heartbeat()`` and the current job.

The worker sets the current job before each attempt. ``heartbeat()`` records that the job
is alive (and optionally its progress and meta), and is where a cancelled sync job learns
that it must stop: it raises ``JobCancelled``.
"""

from __future__ import annotations

import contextvars
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.exceptions import JobCancelled

if TYPE_CHECKING:
    from django_jobs.models import Job

current_job: contextvars.ContextVar[Job | None] = contextvars.ContextVar(
    "django_jobs_job", default=None
)


class Body:
    """The code of one running job, as the worker (its signal handlers, its slots) needs to
    see it. A process-mode job uses the process's ``body``; each async or thread job runs
    with a ``Body`` of its own (``this_body()``)."""

    running = False  # the job's own code runs (not the recording around it)
    cancel_requested = False  # the worker was told this job is cancelled
    task: Any = None  # the asyncio task of an async job
    loop: Any = None  # and its event loop
    #: An interruption asked for before the job's code started (a SIGTERM between the claim
    #: and the body): raised by ``start()``, so the job ends as if it came inside the body.
    pending: BaseException | None = None
    #: An interruption for an async job's task (a shutdown): raised in place of the
    #: ``CancelledError`` when the worker cancels the task.
    interrupt: BaseException | None = None

    def start(self) -> None:
        self.running, self.cancel_requested, self.task, self.loop = True, False, None, None
        self.interrupt = None
        pending, self.pending = self.pending, None
        if pending is not None:
            raise pending

    def stop(self) -> None:
        self.running, self.task, self.loop, self.pending = False, None, None, None
        self.interrupt = None


body = Body()

_own_body: contextvars.ContextVar[Body | None] = contextvars.ContextVar(
    "django_jobs_body", default=None
)


def this_body() -> Body:
    """The ``Body`` of the job running in this context: its own (async and thread jobs) or
    the process's."""
    return _own_body.get() or body


def use_body(own: Body) -> None:
    """In the context of one async or thread job: ``own`` is its ``Body`` from now on."""
    _own_body.set(own)


def request_cancel(target: Body | None = None) -> None:
    """Tell a running job it is cancelled (``target``, default: the process's job): sync jobs
    learn it at ``heartbeat()``, async jobs get their task cancelled (a ``CancelledError`` at
    their next ``await``). Called from the worker's signal handler and its slots."""
    target = target or body
    if not target.running:
        return
    target.cancel_requested = True
    if target.task is not None and target.loop is not None:
        target.loop.call_soon_threadsafe(target.task.cancel)


def heartbeat(progress: float | None = None, meta: dict[str, Any] | None = None) -> None:
    """Tell the worker this job is alive; store ``progress`` (0..1) and merge ``meta``.

    Outside a job it does nothing. Raises ``JobCancelled`` when the job has been cancelled.
    """
    from django_jobs.models import Job
    from django_jobs.states import State

    job = current_job.get()
    if job is None:
        return
    if this_body().cancel_requested:
        raise JobCancelled(f"job {job.pk} was cancelled")
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
    definition = job.definition
    if definition is not None and definition.heartbeat_timeout:
        fields["lease_expires_at"] = now + timedelta(seconds=definition.heartbeat_timeout)
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
