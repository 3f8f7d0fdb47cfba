"""Non-durable recurring runs (``durable=False``): a due tick run by the worker process that
took it, at once, with no ``Job`` row and no ``JobAttempt`` row.

The tick is taken exactly once across workers as a durable tick is (``Schedule.advance``, in
``worker.recurring``); that transaction has committed when the run starts, so the run holds
no lock. It runs through ``execute.run_attempt`` like any job's code: sync or async, with the
definition's soft ``timeout``, its exceptions normalised to an outcome. There are no retries
(the next tick is the retry), and what it returns is not kept. Its outcome, error and
duration are booked on the ``Schedule`` row (``Schedule.book``, as for durable runs) and logged
as ``schedule.run_succeeded`` or ``schedule.run_failed``.

Nothing outlives the process: a run in progress when its worker process dies is neither
recorded nor run again, and its tick is gone.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.ids import new_job_id
from django_jobs.logs import log_event
from django_jobs.models import Job, Schedule
from django_jobs.registry import Definition
from django_jobs.states import State
from django_jobs.worker import record
from django_jobs.worker.execute import run_attempt
from django_jobs.worker.result import Result

#: ``watch(run_id, timeout)``: a context manager around a run's code, by which the worker's
#: supervisor learns of it and stops its process hard past ``timeout`` plus the grace.
Watch = Callable[[uuid.UUID, "float | None"], AbstractContextManager[None]]


def is_durable(definition: Definition) -> bool:
    """Whether the definition's runs are ``Job`` rows (the default) or run in place."""
    return definition.durable


def stand_in(definition: Definition, tick: datetime) -> Job:
    """The unsaved ``Job`` that ``current_job`` holds while the run's code runs.

    It is never saved. Its id is new and it has no claim token, so a ``heartbeat()`` from the
    run's code updates no row (its UPDATE is filtered by that id).
    """
    now = timezone.now()
    return Job(
        id=new_job_id(),
        name=definition.name,
        version=definition.version,
        queue=definition.queue_name,
        priority=definition.priority,
        state=State.RUNNING,
        args=[],
        kwargs={},
        meta=dict(definition.meta),
        run_at=tick,
        created_at=now,
        started_at=now,
        heartbeat_at=now,
        attempts=1,
        max_attempts=1,
        scheduled_for=tick,
    )


def run_tick(
    name: str, definition: Definition, tick: datetime, watch: Watch | None = None
) -> Result:
    """Run schedule ``name``'s ``tick`` here and now, then book its outcome on the schedule.

    Never raises for anything the run's code does; a database that is away while the outcome
    is booked is waited for (``record.until_written``). With ``watch`` (a worker process), a
    run that ignores its soft timeout is stopped hard with its process, and lost.
    """
    job = stand_in(definition, tick)
    began = time.monotonic()
    with watch(job.pk, definition.timeout) if watch else contextlib.nullcontext():
        result = run_attempt(job, definition)
    duration = time.monotonic() - began
    result.started_at = job.started_at
    ended = timezone.now()
    record.until_written(lambda: _book(name, result, ended, duration), {"schedule": name})
    _report(name, tick, result, duration)
    return result


def _book(name: str, result: Result, ended: datetime, duration: float) -> None:
    error = f"{result.error_type}: {result.message}" if result.error_type else result.message
    with transaction.atomic(using=jobs_settings.DATABASE):
        Schedule.book(name, result.outcome, ended, error=error, duration_seconds=duration)


def _report(name: str, tick: datetime, result: Result, duration: float) -> None:
    fields: dict[str, Any] = {"schedule": name, "tick": tick.isoformat(), "duration": duration}
    if result.ok:
        log_event("schedule.run_succeeded", **fields)
        return
    log_event(
        "schedule.run_failed",
        logging.ERROR,
        **fields,
        outcome=result.outcome,
        error=result.message,
    )
