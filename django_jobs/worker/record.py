"""Record the end of an attempt: the attempt row, the job's next state, the dead letter.

All of it is written in one transaction and fenced by the claim token: when the row no
longer carries our token (the job was rescued and claimed again), nothing is written and
the late outcome is logged and dropped.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import InterfaceError, OperationalError, connections, transaction
from django.utils import timezone

from django_jobs import db, signals
from django_jobs.conf import jobs_settings
from django_jobs.db.engine import Ending
from django_jobs.logs import job_fields, log_event, logging_at
from django_jobs.models import DeadLetter, Job, JobAttempt, Outcome, Schedule, transitions
from django_jobs.retry import retry_delay_seconds
from django_jobs.states import State

if TYPE_CHECKING:
    from django_jobs.registry import Definition
    from django_jobs.worker.result import Result


def claim_one(job: Job, worker_id: str) -> bool:
    """Claim a single known job in-process (inline mode, ``testing.run_jobs``)."""
    now = timezone.now()
    return transitions.CLAIM.apply(
        job,
        claim_token=uuid.uuid4(),
        worker=worker_id,
        started_at=now,
        heartbeat_at=now,
        attempts=job.attempts + 1,
    )


def finish(
    job: Job,
    definition: Definition | None,
    result: Result,
    worker_id: str,
    now: datetime | None = None,
) -> bool:
    """Write the attempt and the job's next state; ``False`` when fenced out.

    ``now``: when the attempt ended (default: now).
    """
    now = now or timezone.now()
    fields, event = next_state(job, definition, result, now)
    fields["started_at"] = result.started_at  # a prefetched job started after its claim
    connection = connections[jobs_settings.DATABASE]
    if plain(job, definition, event, connection):
        return _finish_plain(job, result, worker_id, fields, event, now, connection)
    return _finish_in_transaction(job, definition, result, worker_id, fields, event, now)


def plain(job: Job, definition: Definition | None, event: str, connection: Any) -> bool:
    """Whether an end needs nothing but the job's row and its attempt row, outside a
    transaction of the caller's: then it is written by the engine's ``record_ends``, in one
    statement on PostgreSQL, alone or in a batch. A recurring run books its schedule, and a
    failure with ``dead_letter`` writes its dead letter, in one transaction instead."""
    if job.scheduled_for is not None or connection.in_atomic_block:
        return False
    return not (event == "job.failed" and definition is not None and definition.dead_letter)


def ending(job: Job, result: Result, fields: dict[str, Any], ended: datetime) -> Ending:
    """What ``record_ends`` writes for this attempt."""
    if result.ok:
        return Ending(job, fields, ended, result.outcome)
    return Ending(
        job, fields, ended, result.outcome, result.error_type, result.message, result.traceback
    )


def _finish_plain(
    job: Job,
    result: Result,
    worker_id: str,
    fields: dict[str, Any],
    event: str,
    now: datetime,
    connection: Any,
) -> bool:
    """The hot path: the fenced UPDATE and the attempt row together (one statement on
    PostgreSQL), as for a batch of ends."""
    engine = db.for_connection(connection)
    if job.pk not in engine.record_ends(connection, [ending(job, result, fields, now)], worker_id):
        log_fenced(job, worker_id, result.outcome)
        return False
    for name, value in fields.items():
        setattr(job, name, value)
    announce(job, result, event, None)
    return True


def _finish_in_transaction(
    job: Job,
    definition: Definition | None,
    result: Result,
    worker_id: str,
    fields: dict[str, Any],
    event: str,
    now: datetime,
) -> bool:
    """Every other end: the fenced transition and what goes with it, in one transaction."""
    target = fields.pop("state")
    kept = {name: getattr(job, name) for name in ("state", *fields)}
    try:
        with transaction.atomic(using=jobs_settings.DATABASE):
            if not transitions.ending(target).apply(job, **fields):
                log_fenced(job, worker_id, result.outcome)
                return False
            _record_end(job, definition, result, worker_id, event, target, now)
    except Exception:
        # Rolled back: the row did not move, so neither does the job in memory (a retry by
        # ``until_written`` starts again from ``running``).
        for name, value in kept.items():
            setattr(job, name, value)
        raise
    return True


def _record_end(
    job: Job,
    definition: Definition | None,
    result: Result,
    worker_id: str,
    event: str,
    target: str,
    now: datetime,
) -> None:
    """What goes with the end of an attempt, in its transaction: the attempt row, the
    schedule's bookkeeping, the dead letter; the announcement after the commit."""
    alias = jobs_settings.DATABASE
    JobAttempt.objects.using(alias).create(
        job_id=job.pk,
        number=job.attempts,
        worker=worker_id,
        started_at=result.started_at,
        finished_at=now,
        outcome=result.outcome,
        error_type=result.error_type,
        error_message=result.message,
        traceback=result.traceback,
    )
    if job.scheduled_for is not None and event not in ("job.retried", "job.requeued"):
        Schedule.book_run(job, target, now)
    dead = None
    if event == "job.failed" and definition is not None and definition.dead_letter:
        dead = DeadLetter.objects.using(alias).create(
            job=job, name=job.name, reason=result.message, failed_at=now
        )
    transaction.on_commit(lambda: announce(job, result, event, dead), using=alias)


def log_fenced(job: Job, worker_id: str, outcome: str) -> None:
    """An outcome was dropped: the row no longer carries this attempt's claim token."""
    log_event("job.fenced", logging.WARNING, **job_fields(job), worker=worker_id, outcome=outcome)


def end_outside(job: Job, outcome: str, reason: str, worker_id: str) -> bool:
    """Record an attempt that ended outside the job's own code (killed, lost, stopped,
    cancelled before it started); ``False`` when fenced out."""
    from django_jobs.registry import registry

    result = interrupted_result(job, outcome, reason)
    return finish(job, registry.find(job.name, job.version), result, worker_id)


def defer_unknown_version(job: Job) -> None:
    """A claimed job of a newer version than this process knows: back to ``scheduled`` for
    a worker that knows it (in 5 s), the claim's attempt not counted."""
    transitions.DEFER.apply(
        job,
        run_at=timezone.now() + timedelta(seconds=5),
        attempts=job.attempts - 1,
        claim_token=None,
        worker=None,
    )
    log_event(
        "job.deferred",
        logging.INFO,
        **job_fields(job),
        reason="newer version than this worker knows",
    )


T = TypeVar("T")


def until_written(write: Callable[[], T], fields: dict[str, Any]) -> T:
    """Call ``write`` until the database takes it, waiting 1, 2, 4 ... 30 s between tries.

    For outcomes held in memory while the database is away: they are written once it is
    back; a job rescued in between is fenced out by its claim token.
    """
    pause = 1.0
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:  # the connection, not the data
            log_event(
                "job.record_delayed",
                logging.ERROR,
                **fields,
                error=str(exc).strip()[:200],
                retry_in=pause,
            )
            connections[jobs_settings.DATABASE].close()
            time.sleep(pause)
            pause = min(pause * 2, 30.0)


def interrupted_result(job: Job, outcome: str, reason: str) -> Result:
    """The result of an attempt that ended outside the job's own code (killed, lost, stopped)."""
    from django_jobs.worker.result import Result

    return Result(
        outcome,
        error_type="",
        message=reason,
        retryable=outcome != Outcome.INTERRUPTED,
        started_at=job.started_at or timezone.now(),
    )


#: What every end of an attempt clears: its claim, and a cancel request it answered.
_RELEASED = {"claim_token": None, "lease_expires_at": None, "cancel_requested_at": None}


def next_state(
    job: Job, definition: Definition | None, result: Result, now: Any
) -> tuple[dict[str, Any], str]:
    """The fields to write and the event to announce for this outcome (pure)."""
    ttl = definition.effective_result_ttl if definition else jobs_settings.DEFAULT_RESULT_TTL
    expires = None if ttl is None else now + ttl
    if result.ok:
        fields, event = _succeeded(result, now, expires), "job.succeeded"
    elif result.outcome == Outcome.CANCELLED:
        fields, event = _ended(State.CANCELLED, now, "cancelled", expires), "job.cancelled"
    else:
        fields, event = _after_failure(job, definition, result, now, expires)
    return {**fields, **_RELEASED}, event


def _succeeded(result: Result, now: Any, expires: Any) -> dict[str, Any]:
    return {
        "state": State.SUCCEEDED,
        "result": result.value,
        "finished_at": now,
        "expires_at": expires,
        "last_error": "",
    }


def _ended(state: str, now: Any, last_error: str, expires: Any) -> dict[str, Any]:
    """A final state other than success: cancelled or failed."""
    return {"state": state, "finished_at": now, "last_error": last_error, "expires_at": expires}


def _again(state: str, run_at: Any, last_error: str) -> dict[str, Any]:
    """Back to ``queued`` or ``scheduled`` for another attempt, by any worker."""
    return {"state": state, "run_at": run_at, "last_error": last_error, "worker": None}


def _after_failure(
    job: Job, definition: Definition | None, result: Result, now: Any, expires: Any
) -> tuple[dict[str, Any], str]:
    """The retry and dead-letter decision for an attempt that did not succeed (nor was
    cancelled): put back, retried now or later, or failed."""
    error = f"{result.error_type}: {result.message}" if result.error_type else result.message
    attempts_left = job.attempts < job.max_attempts
    if result.outcome == Outcome.INTERRUPTED and not result.final:
        # Put back without using up a retry: the next attempt gets one more in hand.
        requeued = {**_again(State.QUEUED, now, error), "max_attempts": job.max_attempts + 1}
        return requeued, "job.requeued"
    if result.outcome == Outcome.LOST and attempts_left:
        return _again(State.QUEUED, now, error), "job.retried"
    if result.retryable and definition is not None and attempts_left:
        return _retry_later(job, definition, now, error), "job.retried"
    if definition is not None and definition.dead_letter:
        expires = None  # dead letters stay until someone deletes or resubmits them
    return _ended(State.FAILED, now, error, expires), "job.failed"


def _retry_later(job: Job, definition: Definition, now: Any, error: str) -> dict[str, Any]:
    """The next attempt after the definition's backoff (``queued`` at once when it is 0)."""
    delay = retry_delay_seconds(
        definition.backoff,
        definition.effective_retry_delay,
        job.attempts,
        definition.effective_max_retry_delay,
    )
    state = State.SCHEDULED if delay > 0 else State.QUEUED
    return _again(state, now + timedelta(seconds=delay), error)


def _ended_fields(job: Job, result: Result) -> dict[str, Any]:
    duration = (timezone.now() - result.started_at).total_seconds()
    return {**job_fields(job), "outcome": result.outcome, "duration": duration}


def announce(job: Job, result: Result, event: str, dead: DeadLetter | None) -> None:
    if event == "job.succeeded":
        if logging_at(logging.INFO):
            log_event(event, **_ended_fields(job, result))
        signals.job_succeeded.send_robust(Job, job=job, result=result.value)
        return
    fields = _ended_fields(job, result)
    if event == "job.cancelled":
        log_event(event, **fields)
        signals.job_cancelled.send_robust(Job, job=job)
        return
    if event == "job.requeued":
        log_event(event, logging.WARNING, **fields, reason=result.message)
        return
    if event == "job.retried":
        log_event(
            event, logging.WARNING, **fields, retry_at=job.run_at.isoformat(), error=result.message
        )
        signals.job_retried.send_robust(Job, job=job, error=result.message, retry_at=job.run_at)
        return
    log_event(event, logging.ERROR, **fields, error=result.message)
    signals.job_failed.send_robust(Job, job=job, error=result.message)
    if dead is not None:
        log_event("job.dead_lettered", logging.ERROR, **job_fields(job))
        signals.job_dead_lettered.send_robust(Job, job=job, dead_letter=dead)
