"""Ends of attempts written in batches: one statement for many jobs instead of one per job.

A worker process that runs short jobs back to back hands each plain end (a success, a retry,
a failure without a dead letter, a cancel; no lease, no schedule, not ``atomic``: see
``record.plain``) to a ``Completions`` batch. The loop flushes the batch when the claimed
jobs have all run, when the oldest end has waited ``WINDOW`` seconds (checked between jobs),
and before it stops; a thread flushes it while a job runs longer than ``WINDOW``. Each write
is fenced by the job's claim token, exactly as a single write is: a job rescued meanwhile is
left alone.

Until a flush, an end lives only in the process's memory: if the process dies first (a
crash, ``kill -9``), the job is still ``running`` and is put back (``queued``) by the
supervisor or rescued, and runs again. That is the at-least-once contract, with a window of
about ``WINDOW`` seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.utils import timezone

from django_jobs import db
from django_jobs.conf import jobs_settings
from django_jobs.logs import job_fields
from django_jobs.models import Job, Outcome
from django_jobs.worker import record

if TYPE_CHECKING:
    from django_jobs.registry import Definition
    from django_jobs.worker.result import Result


#: The outcomes of an attempt's own code that may wait for a batch.
BATCHED = frozenset({Outcome.SUCCEEDED, Outcome.FAILED, Outcome.TIMEOUT, Outcome.CANCELLED})


@dataclass
class Done:
    job: Job
    result: Result
    #: ``record.next_state``'s fields (with ``started_at``) and event.
    fields: dict[str, Any]
    event: str
    finished_at: datetime


class Completions:
    """The ends of attempts of one worker process that are not written yet.

    The loop adds and flushes them between jobs. With ``watch()``, a thread (on its own
    database connection) also writes them when the running job takes longer than
    ``WINDOW``: a long job does not hold back the ends before it, and a job that gets
    stopped hard (timeout, cancel) does not take them down with its process. Signals and
    log lines for every write are sent by the loop's own thread, at its next flush.
    """

    #: Seconds an end may wait for its batch.
    WINDOW = 0.05

    def __init__(self, worker_id: str, session: Any = None) -> None:
        self.worker_id = worker_id
        self.session = session  # the loop's own connection (PostgreSQL), for its thread only
        self.alias = jobs_settings.DATABASE
        self.pending: list[Done] = []
        self.oldest = 0.0
        #: When the running job started (``time.monotonic()``), ``None`` between jobs.
        self.running_since: float | None = None
        self.lock = threading.Lock()
        self.watched: list[tuple[Done, dict[str, Any] | None]] = []  # written by the thread
        self.stopped = threading.Event()
        self.watcher: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, job: Job, definition: Definition | None, result: Result) -> bool:
        """Take this attempt's end into the batch; ``False`` when it must be recorded at
        once: it is not a plain end (``record.plain``), its job holds a lease (which must not
        run out while its end waits), or its code was interrupted by a shutdown (the
        process is on its way out)."""
        if definition is None or definition.heartbeat_timeout or result.outcome not in BATCHED:
            return False
        finished = timezone.now()
        fields, event = record.next_state(job, definition, result, finished)
        if not record.plain(job, definition, event, connections[self.alias]):
            return False
        fields["started_at"] = result.started_at
        done = Done(job, result, fields, event, finished)
        with self.lock:
            if not self.pending:
                self.oldest = time.monotonic()
            self.pending.append(done)
        return True

    def due(self) -> bool:
        return bool(self.pending) and time.monotonic() - self.oldest >= self.WINDOW

    def flush(self) -> int:
        """Write every pending end (waiting for the database when it is away), then
        announce them and those the thread wrote; return how many were written (the others
        were fenced out)."""
        with self.lock:
            done, self.pending = self.pending, []
        outcome = self._write_until_written(done, self.session) if done else []
        with self.lock:
            outcome, self.watched = self.watched + outcome, []
        return self._announce(outcome)

    def watch(self) -> None:
        """Start the thread that writes ends held back by a long job."""
        self.watcher = threading.Thread(target=self._watch, name="django_jobs.completions")
        self.watcher.daemon = True  # a process stopped hard must not wait for it
        self.watcher.start()

    def close(self) -> None:
        """Stop the thread (after the write it may be doing), then flush the rest."""
        self.stopped.set()
        if self.watcher is not None:
            self.watcher.join()
        self.flush()

    def _watch(self) -> None:
        try:
            while not self.stopped.wait(self.WINDOW):
                with self.lock:
                    since = self.running_since
                    if not self.pending or since is None or time.monotonic() - since < self.WINDOW:
                        continue
                    done, self.pending = self.pending, []
                outcome = self._write_until_written(done)
                with self.lock:
                    self.watched.extend(outcome)
        finally:
            connections.close_all()  # this thread's own connections

    def _write_until_written(
        self, done: list[Done], session: Any = None
    ) -> list[tuple[Done, dict[str, Any] | None]]:
        return record.until_written(lambda: self._write(done, session), job_fields(done[0].job))

    def _write(self, done: list[Done], session: Any) -> list[tuple[Done, dict[str, Any] | None]]:
        """Write ``done`` in one statement (one transaction), on ``session`` or Django's
        connection; each with the fields written, or ``None`` when fenced out."""
        connection = connections[self.alias]
        ends = [record.ending(d.job, d.result, d.fields, d.finished_at) for d in done]
        engine = db.for_connection(connection)
        written = engine.record_ends(session or connection, ends, self.worker_id)
        return [(d, d.fields if d.job.pk in written else None) for d in done]

    def _announce(self, outcome: list[tuple[Done, dict[str, Any] | None]]) -> int:
        count = 0
        for d, fields in outcome:
            if fields is None:
                record.log_fenced(d.job, self.worker_id, d.result.outcome)
                continue
            for name, value in fields.items():
                setattr(d.job, name, value)
            record.announce(d.job, d.result, d.event, None)
            count += 1
        return count
