"""State changes of jobs: conditional UPDATEs checked against the transition table.

Every function writes only the fields it touches, in one statement narrowed to the states
the transition table allows, so two writers racing for the same row cannot both win. Writes
made on behalf of a worker also match the claim token ("fencing"): a worker whose job was
taken away (rescued) changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from django_jobs import signals, states
from django_jobs.conf import jobs_settings
from django_jobs.models import Job
from django_jobs.states import State


def move(job: Job, target: str, *, claim_token: uuid.UUID | None = None, **fields: Any) -> bool:
    """Move ``job`` to ``target`` if its stored state allows it; update ``job`` in memory.

    Returns ``False`` (and writes nothing) when the row is no longer in a source state of
    ``target`` or, with ``claim_token``, no longer holds that token.
    """
    query = Job.objects.using(jobs_settings.DATABASE).filter(
        pk=job.pk, state__in=states.sources(target)
    )
    if claim_token is not None:
        query = query.filter(claim_token=claim_token)
    changed = query.update(state=target, **fields) == 1
    if changed:
        job.state = target
        for name, value in fields.items():
            setattr(job, name, value)
    return changed


def wake_workers(payloads: list[str]) -> None:
    """NOTIFY the workers (PostgreSQL; delivered at commit): a running job was cancelled."""
    from django.db import connections

    from django_jobs import db

    connection = connections[jobs_settings.DATABASE]
    db.for_connection(connection).notify(connection, payloads)


def expiry(job: Job, now: Any) -> Any:
    """When a job finishing now may be pruned: its definition's ``result_ttl`` after now."""
    definition = job.definition
    ttl = definition.effective_result_ttl if definition else jobs_settings.DEFAULT_RESULT_TTL
    return None if ttl is None else now + ttl


def cancel_job(job: Job) -> bool:
    """Cancel at once when waiting; ask the worker to stop it when running.

    Returns ``True`` when the job is cancelled now, ``False`` when a running job was asked
    to stop. A finished job raises ``InvalidTransition``.
    """
    alias = jobs_settings.DATABASE
    now = timezone.now()
    for _ in range(3):  # the row may move (say, get claimed) between our read and write
        if job.state in (State.QUEUED, State.SCHEDULED):
            with transaction.atomic(using=alias):
                moved = move(
                    job,
                    State.CANCELLED,
                    finished_at=now,
                    last_error="cancelled",
                    expires_at=expiry(job, now),
                )
                if moved and job.scheduled_for is not None:
                    from django_jobs.worker.recurring import after_run

                    after_run(job, State.CANCELLED, now)  # plan the next run of its schedule
            if moved:
                transaction.on_commit(
                    lambda: signals.job_cancelled.send_robust(Job, job=job), using=alias
                )
                return True
        elif job.state == State.RUNNING:
            asked = (
                Job.objects.using(alias)
                .filter(pk=job.pk, state=State.RUNNING)
                .update(cancel_requested_at=now)
            )
            if asked:
                job.cancel_requested_at = now
                wake_workers(["cancel"])
                return False
        else:
            states.check_transition(job.state, State.CANCELLED, job_id=job.pk)
        job.refresh_from_db(using=alias, fields=["state", "cancel_requested_at"])
    states.check_transition(job.state, State.CANCELLED, job_id=job.pk)
    return False
