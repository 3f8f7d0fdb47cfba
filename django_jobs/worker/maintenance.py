"""Maintenance services run by workers between jobs: stage, rescue, prune.

Each is one small function, safe to run from many workers at once: every write is a
conditional UPDATE or DELETE that only one of them can win.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import F
from django.utils import timezone

from django_jobs import db
from django_jobs.conf import jobs_settings
from django_jobs.logs import log_event
from django_jobs.models import Job, Outcome, transitions
from django_jobs.states import State
from django_jobs.worker import record


def stage_due(now: datetime | None = None) -> int:
    """Move scheduled jobs whose ``run_at`` has come to ``queued`` (uses index dj_job_due)."""
    connection = connections[jobs_settings.DATABASE]
    return db.for_connection(connection).stage_due(connection, now or timezone.now())


def end_running_jobs(
    worker_id: str, outcome: str, reason: str, *, only: Collection[uuid.UUID] | None = None
) -> int:
    """Record the end of every job a (dead, killed or stopping) worker process still runs
    (``only``: of those).

    ``lost`` and ``timeout`` count as a failed attempt and follow the retry policy (a lost job
    is requeued at once); ``interrupted`` puts the job back without using up a retry.
    Fenced by each job's claim token: a job that finished meanwhile is left alone.
    """
    jobs = Job.objects.using(jobs_settings.DATABASE).filter(state=State.RUNNING, worker=worker_id)
    if only is not None:
        jobs = jobs.filter(pk__in=list(only))
    return sum(record.end_outside(job, outcome, reason, worker_id) for job in jobs)


#: The reason recorded for a claimed job cancelled before its process started it.
CANCELLED_BEFORE_START = "cancelled before it started"


def end_process_jobs(
    worker_id: str, ended: Collection[uuid.UUID], outcome: str, reason: str
) -> int:
    """A worker process was killed or ended: record ``outcome`` for the jobs in ``ended``
    (those it was running when it died, or the one it was stopped for) and put back every
    other job it holds: claimed and not started, run without being recorded yet, or running
    beside a job that got its process stopped. Those run again without using up an attempt
    (``worker.jobs_returned``). Returns how many jobs were ended or put back."""
    returned = put_back(worker_id, keep=ended, level=logging.WARNING)
    if not ended:
        return returned
    return returned + end_running_jobs(worker_id, outcome, reason, only=ended)


def put_back(
    worker_id: str,
    *,
    ids: list[uuid.UUID] | None = None,
    keep: Collection[uuid.UUID] = (),
    level: int = logging.INFO,
) -> int:
    """Return claimed jobs of ``worker_id`` to ``queued`` and take their attempt back (no
    ``JobAttempt`` row is written): ``ids``, or all it holds but ``keep``."""
    query = Job.objects.using(jobs_settings.DATABASE).filter(state=State.RUNNING, worker=worker_id)
    if ids is not None:
        query = query.filter(pk__in=ids)
    if keep:
        query = query.exclude(pk__in=list(keep))
    for job in query.filter(cancel_requested_at__isnull=False):  # asked to stop: they do
        record.end_outside(job, Outcome.CANCELLED, CANCELLED_BEFORE_START, worker_id)
    returned = transitions.PUT_BACK.apply_many(
        query,
        attempts=F("attempts") - 1,
        claim_token=None,
        worker=None,
        lease_expires_at=None,
    )
    if returned:
        log_event("worker.jobs_returned", level, worker=worker_id, jobs=returned)
    return returned


def rescue_dead_workers(now: datetime | None = None) -> int:
    """Declare dead the workers silent for ``WORKER_TIMEOUT``; requeue or fail their jobs.

    Any worker may run this; the engine's ``declare_dead`` lets exactly one of them rescue a
    given dead worker.
    """
    now = now or timezone.now()
    connection = connections[jobs_settings.DATABASE]
    silent_since = now - timedelta(seconds=jobs_settings.WORKER_TIMEOUT)
    rescued = 0
    for worker_id in db.for_connection(connection).declare_dead(connection, silent_since, now):
        count = end_running_jobs(worker_id, Outcome.LOST, "the worker process stopped responding")
        log_event("worker.dead", logging.WARNING, worker=worker_id, jobs=count)
        rescued += count
    return rescued


def prune_expired(now: datetime | None = None) -> int:
    """Delete finished jobs past their ``expires_at``, one small batch per call."""
    now = now or timezone.now()
    alias = jobs_settings.DATABASE
    batch = list(
        Job.objects.using(alias)
        .filter(expires_at__lte=now)
        .values_list("pk", flat=True)[: jobs_settings.PRUNE_BATCH_SIZE]
    )
    if not batch:
        return 0
    Job.objects.using(alias).filter(pk__in=batch, expires_at__lte=now).delete()
    return len(batch)


def run_all(now: datetime | None = None) -> dict[str, int]:
    """Every service once (the worker loop calls this every ``MAINTENANCE_INTERVAL``)."""
    now = now or timezone.now()
    return {
        "rescued": rescue_dead_workers(now),
        "pruned": prune_expired(now),
    }
