"""Helpers for testing code that enqueues jobs, without a worker process.

* ``DJANGO_JOBS_INLINE = True`` makes every enqueue run its job at once, in-process, after
  the enqueuing transaction commits.
* ``run_jobs()`` drains the ready jobs in-process: the same execution and recording steps as
  ``runjobs`` (attempts, retries, dead letters), minus the separate processes and hard stops.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.models import Job, transitions
from django_jobs.states import State


def _worker_id() -> str:
    return f"inline@{socket.gethostname()}:{os.getpid()}"


def run_inline(jobs: Iterable[Job]) -> None:
    """Run these freshly enqueued jobs now (inline mode); retries run at once too."""
    from django_jobs.worker.execute import execute
    from django_jobs.worker.record import claim_one

    for job in jobs:
        while job.state == State.QUEUED or (job.state == State.SCHEDULED and job.attempts):
            if job.state == State.SCHEDULED and not _promote_one(job):
                break
            if not claim_one(job, _worker_id()):
                break
            execute(job, _worker_id())


def run_jobs(
    until_empty: bool = True,
    *,
    queues: Iterable[str] | None = None,
    include_scheduled: bool = False,
    max_jobs: int | None = None,
) -> int:
    """Run ready jobs in this process, oldest first by priority; return how many ran.

    ``until_empty``: keep going until no job is ready (retries that are due at once run
    too); otherwise run what is ready now, once. ``include_scheduled``: treat jobs waiting
    for their ``run_at`` (including retries in backoff) as due now.
    """
    from django_jobs.worker.execute import execute
    from django_jobs.worker.record import claim_one

    ran = 0
    queue_list = list(queues) if queues is not None else None
    snapshot: list[Job] | None = None
    newer: set[object] = set()  # rows of a version this process does not know: left alone
    while max_jobs is None or ran < max_jobs:
        if snapshot is None or until_empty:
            _stage(include_scheduled)
            ready = Job.objects.using(jobs_settings.DATABASE).filter(state=State.QUEUED)
            if queue_list is not None:
                ready = ready.filter(queue__in=queue_list)
            ordered = ready.exclude(pk__in=newer).order_by("-priority", "run_at", "id")
            snapshot = list(ordered[:1] if until_empty else ordered)
        if not snapshot:
            break
        job = snapshot.pop(0)
        if _is_newer_version(job):
            newer.add(job.pk)
            continue
        if claim_one(job, _worker_id()):
            execute(job, _worker_id())
            ran += 1
    return ran


def _is_newer_version(job: Job) -> bool:
    from django_jobs.registry import registry

    known = registry.versions(job.name)
    return bool(known) and job.version > max(known)


def _stage(include_scheduled: bool) -> None:
    due = Job.objects.using(jobs_settings.DATABASE).filter(state=State.SCHEDULED)
    if not include_scheduled:
        due = due.filter(run_at__lte=timezone.now())
    _promote(list(due.values_list("pk", flat=True)))


def _promote(ids: list[object]) -> None:
    if ids:
        rows = Job.objects.using(jobs_settings.DATABASE).filter(pk__in=ids)
        transitions.STAGE.apply_many(rows, run_at=timezone.now())


def _promote_one(job: Job) -> bool:
    return transitions.STAGE.apply(job, run_at=timezone.now())
