"""State changes of jobs: conditional UPDATEs checked against the transition table.

The model methods (``Job.cancel``, ``Job.run_now``) call these; they take the job and use
its class, so this module needs no import of the model.

Every function writes only the fields it touches, in one statement narrowed to the states
the transition table allows, so two writers racing for the same row cannot both win. Writes
made on behalf of a worker also match the claim token ("fencing"): a worker whose job was
taken away (rescued) changes nothing.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.db import connections, transaction
from django.utils import timezone

from django_jobs import signals, states
from django_jobs.conf import jobs_settings
from django_jobs.db.notify import wake_workers
from django_jobs.models.schedule import Schedule
from django_jobs.states import State

if TYPE_CHECKING:
    from django_jobs.models.job import Job


def move(job: Job, target: str, *, claim_token: uuid.UUID | None = None, **fields: Any) -> bool:
    """Move ``job`` to ``target`` if its stored state allows it; update ``job`` in memory.

    Returns ``False`` (and writes nothing) when the row is no longer in a source state of
    ``target`` or, with ``claim_token``, no longer holds that token.
    """
    query = (
        type(job)
        .objects.using(jobs_settings.DATABASE)
        .filter(pk=job.pk, state__in=states.sources(target))
    )
    if claim_token is not None:
        query = query.filter(claim_token=claim_token)
    changed = query.update(state=target, **fields) == 1
    if changed:
        job.state = target
        for name, value in fields.items():
            setattr(job, name, value)
    return changed


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
                    Schedule.book_run(job, State.CANCELLED, now)  # plan its next run
            if moved:
                transaction.on_commit(
                    lambda: signals.job_cancelled.send_robust(type(job), job=job), using=alias
                )
                return True
        elif job.state == State.RUNNING:
            asked = (
                type(job)
                .objects.using(alias)
                .filter(pk=job.pk, state=State.RUNNING)
                .update(cancel_requested_at=now)
            )
            if asked:
                job.cancel_requested_at = now
                wake_workers(connections[alias], ["cancel"])
                return False
        else:
            states.check_transition(job.state, State.CANCELLED, job_id=job.pk)
        job.refresh_from_db(using=alias, fields=["state", "cancel_requested_at"])
    states.check_transition(job.state, State.CANCELLED, job_id=job.pk)
    return False


def run_job_now(job: Job) -> bool:
    """``scheduled`` → ``queued`` with ``run_at`` now; ``False`` when it was not scheduled."""
    if job.state != State.SCHEDULED:
        return False
    return move(job, State.QUEUED, run_at=timezone.now())
