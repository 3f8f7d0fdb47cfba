"""Successes written in batches: one statement for many jobs instead of one per job.

A worker process that runs short jobs back to back hands each plain success (no lease, no
schedule, not ``atomic``) to a ``Completions`` batch. The loop flushes the batch when the
claimed jobs have all run, when the oldest success has waited ``WINDOW`` seconds (checked
between jobs), before it waits for work and before it stops. Each write is fenced by the
job's claim token, exactly as a single write is: a job rescued meanwhile is left alone.

Until a flush, a success lives only in the process's memory: if the process dies first,
the job is still ``running`` and is put back (``queued``) by the supervisor or rescued,
and runs again. That is the at-least-once contract, with a window of at most ``WINDOW``
seconds plus the running job's own time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import connections, transaction
from django.utils import timezone

from django_jobs import db
from django_jobs.conf import jobs_settings
from django_jobs.logs import job_fields, log_event
from django_jobs.models import Job
from django_jobs.worker import record

if TYPE_CHECKING:
    from django_jobs.registry import Definition
    from django_jobs.worker.execute import Result


@dataclass
class Done:
    job: Job
    definition: Definition
    result: Result
    finished_at: datetime


class Completions:
    """The successes of one worker process that are not written yet."""

    #: Seconds a success may wait for its batch (checked between jobs).
    WINDOW = 0.05

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.alias = jobs_settings.DATABASE
        self.pending: list[Done] = []
        self.oldest = 0.0

    def __len__(self) -> int:
        return len(self.pending)

    def accepts(self, job: Job, definition: Definition | None, result: Result) -> bool:
        return (
            result.ok
            and definition is not None
            and not definition.heartbeat_timeout
            and job.scheduled_for is None
            and not connections[self.alias].in_atomic_block
        )

    def add(self, job: Job, definition: Definition, result: Result) -> None:
        if not self.pending:
            self.oldest = time.monotonic()
        self.pending.append(Done(job, definition, result, timezone.now()))

    def due(self) -> bool:
        return bool(self.pending) and time.monotonic() - self.oldest >= self.WINDOW

    def flush(self) -> int:
        """Write every pending success (waiting for the database when it is away); return
        how many were written (the others were fenced out)."""
        if not self.pending:
            return 0
        done = self.pending
        written = record.until_written(lambda: self._write(done), job_fields(done[0].job))
        self.pending = []
        return written

    def _write(self, done: list[Done]) -> int:
        connection = connections[self.alias]
        ops = db.for_connection(connection)
        if not hasattr(ops, "record_successes"):
            with transaction.atomic(using=self.alias):
                return sum(
                    record.finish(d.job, d.definition, d.result, self.worker_id, d.finished_at)
                    for d in done
                )
        rows = []
        for d in done:
            fields, _ = record.next_state(d.job, d.definition, d.result, d.finished_at)
            fields["started_at"] = d.result.started_at
            rows.append((d.job, fields))
        written = ops.record_successes(connection, rows, self.worker_id)
        for (job, fields), d in zip(rows, done):
            if job.pk not in written:
                log_event(
                    "job.fenced",
                    logging.WARNING,
                    **job_fields(job),
                    worker=self.worker_id,
                    outcome=d.result.outcome,
                )
                continue
            for name, value in fields.items():
                setattr(job, name, value)
            record.announce(job, d.result, "job.succeeded", None)
        return len(written)
