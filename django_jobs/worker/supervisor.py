"""The supervisor: the worker's process tree. It starts the worker processes, replaces
them, and stops them.

It registers the tree in the Worker table and heartbeats every row of it, replaces a process
that dies (one that dies young waits longer each time), and applies the shutdown policy: the
first SIGTERM/SIGINT stops claiming and lets each job follow its ``on_shutdown`` within the
grace period; a second one stops everything at once, requeueing. A signal that arrives while
the worker starts is honoured too: no process is started after it, and every process started
before it is told (see ``worker.process``).

What it shares with each process: ``worker.protocol``; the hard stops (timeouts, cancels,
stalled jobs, a shutdown that cannot wait): ``worker.watchdog``; the counts, the summary line
and the progress bar: ``worker.status``.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, InterfaceError, connections

from django_jobs.conf import jobs_settings
from django_jobs.db.notify import CANCEL_WAKEUP
from django_jobs.logs import log_event
from django_jobs.models import Outcome
from django_jobs.worker import burst, maintenance, protocol, recurring
from django_jobs.worker.loop import LoopOptions
from django_jobs.worker.process import child_main, signals_held
from django_jobs.worker.protocol import Slot
from django_jobs.worker.rows import TreeRows
from django_jobs.worker.selector import QueueSelector
from django_jobs.worker.status import Status
from django_jobs.worker.wakeup import Waiter
from django_jobs.worker.watchdog import Watchdog

_fork = multiprocessing.get_context("fork")


@dataclass
class Child:
    worker_id: str
    process: Any
    slot: Slot
    started: float = field(default_factory=time.monotonic)
    told_to_stop: bool = False


@dataclass
class Supervisor:
    options: LoopOptions
    concurrency: int
    name: str = ""
    children: list[Child] = field(default_factory=list)
    stop_requested: int = 0
    stop_started: float = 0.0
    pending: list[float] = field(default_factory=list)  # when to start a new process
    quick_deaths: int = 0
    woken: bool = False
    marked_stopping: bool = False
    next_watch: float = 0.0
    next_beat: float = 0.0

    def __post_init__(self) -> None:
        self.alias = jobs_settings.DATABASE
        base = self.name or socket.gethostname()
        self.worker_id = f"{base}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
        self.generation = 0
        self.report: burst.Report | None = None  # with --burst, once it has ended
        # --max-jobs is for the whole worker: its processes draw from one shared budget.
        self.budget = protocol.new_budget(self.options.max_jobs)
        # Set at the first signal, read by every process before it claims.
        self.stop_flag = protocol.new_stop_flag()
        # Woken by requests to cancel, not by every enqueue (the processes claim those).
        self.waiter = Waiter(self.alias, wakes=CANCEL_WAKEUP.__eq__)
        self.watchdog = Watchdog(self, self.alias)
        self.status = Status(self, self.worker_id)
        self.rows = TreeRows(self.worker_id, self.options, self.alias)

    # --- lifecycle ------------------------------------------------------------------------

    def install_signals(self) -> None:
        """Handle SIGTERM and SIGINT from now on (before the banner: a stop sent as soon as
        it shows is a clean stop)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def run(self, progress_stream: Any = None) -> int:
        """Start, supervise until every process has ended, clean up; return the exit code.

        ``progress_stream``: in burst mode, draw a progress bar there (a terminal).
        """
        self.install_signals()
        self.rows.register(self.name, self.concurrency)
        try:
            self.start(progress_stream)
            self.supervise()
        finally:
            self.finish()
        return 0

    def start(self, progress_stream: Any) -> None:
        """The start-up steps; a stop requested meanwhile skips the rest of them."""
        if self.options.burst and progress_stream is not None:
            total = burst.ready_count(self.options.queues, self.alias)
            self.status.show_progress(total, progress_stream)
        if self.options.recurring and not self.stop_requested:
            recurring.sync_schedules()
        if not self.stop_requested:
            maintenance.rescue_dead_workers()
        connections.close_all()
        for _ in range(self.concurrency):
            if self.stop_requested or self.spawn() is None:
                return
        log_event(
            "worker.started",
            worker=self.worker_id,
            processes=self.concurrency,
            queues=",".join(self.options.queues or []) or None,
            role=self.options.role,
        )

    def finish(self) -> None:
        self.status.close()
        if self.options.burst:
            queues = QueueSelector(self.options.queues, self.options.role, self.alias).current()
            self.report = burst.report(self.worker_id, queues, self.alias, self.status.processed())
        self.unregister()
        self.waiter.close()

    def ids(self) -> list[str]:
        """The worker ids of the tree: the supervisor's and its processes'."""
        return [self.worker_id, *(c.worker_id for c in self.children)]

    def unregister(self) -> None:
        self.rows.unregister(self.ids())
        log_event(
            "worker.stopped",
            worker=self.worker_id,
            processed=self.status.processed(),
            hard_stops=self.watchdog.hard_stops,
        )

    def spawn(self) -> Child | None:
        """Start one worker process (added to ``children``); ``None`` when a stop was asked
        for first. Forked with the stop signals held, so that whenever one arrives, either
        no process is started or the new one is in ``children`` and is told to stop."""
        self.generation += 1
        worker_id = f"{self.worker_id}/{self.generation}"
        self.rows.add_process(worker_id)
        # One place per slot, and one more for a non-durable recurring run (its loop's own).
        slot = protocol.new_slot(self.budget, self.stop_flag, self.options.slot_count() + 1)
        connections.close_all()
        child = None
        with signals_held():
            if not self.stop_requested:
                process = _fork.Process(
                    target=child_main,
                    args=(worker_id, self.options, slot),
                    name=f"runjobs {worker_id}",
                    daemon=False,
                )
                process.start()
                child = Child(worker_id, process, slot)
                self.children.append(child)
        if child is None:
            self.rows.stopped(worker_id)
            return None
        if self.stop_requested:  # the signal came while the process was being started
            self.tell_to_stop(child)
        self.rows.process_started(worker_id, child.process.pid)
        return child

    # --- watching ---------------------------------------------------------------------------

    def supervise(self) -> None:
        while self.children or (self.pending and not self.stop_requested):
            try:
                self.watch_once()
            except (DatabaseError, InterfaceError) as exc:
                # The database is away: the processes keep their jobs; a job whose end could
                # not be written stays running and is rescued once the database is back.
                log_event("worker.database_error", logging.ERROR, error=str(exc).strip()[:200])
                connections[self.alias].close()
                time.sleep(1)
            # A cancel request NOTIFYs (PostgreSQL): look at the jobs at once when woken.
            self.woken = self.waiter.wait(0.1, jitter=False)

    def watch_once(self) -> None:
        """One turn of supervision."""
        now = time.monotonic()
        # First, before any database work that could fail: the shutdown grace is kept even
        # when the database is away or locked (say, by a process that will not stop).
        if self.stop_requested and now - self.stop_started > jobs_settings.SHUTDOWN_GRACE:
            self.watchdog.kill_all("the shutdown grace period ran out")
        self.spawn_pending()
        if now >= self.next_beat:
            self.rows.heartbeat(self.ids())
            self.next_beat = now + jobs_settings.HEARTBEAT_INTERVAL
        self.status.tick(now, self.watchdog.hard_stops)
        self.watchdog.enforce_deadlines()
        if self.woken or now >= self.next_watch:
            self.watchdog.watch_jobs()
            self.next_watch = now + 0.5
        self.reap()
        if self.stop_requested and not self.marked_stopping:
            self.rows.stopping(self.ids())
            self.marked_stopping = True

    def summary(self) -> None:
        """The ``worker.summary`` line now (``worker.status``)."""
        self.status.summary(self.watchdog.hard_stops)

    def reap(self) -> None:
        """Collect ended processes; replace them unless stopping or draining (burst)."""
        for child in list(self.children):
            if child.process.is_alive():
                continue
            child.process.join()
            self.retire(child)
            code = child.process.exitcode
            # A process may end in the middle of its jobs (a crash, os._exit() in job code).
            ended = maintenance.end_process_jobs(
                child.worker_id,
                child.slot.running_jobs(),
                Outcome.LOST,
                f"the worker process ended with code {code}",
            )
            if code != 0 or ended:
                log_event(
                    "worker.process_died",
                    logging.ERROR,
                    worker=child.worker_id,
                    exitcode=code,
                    jobs=ended,
                )
            expected = code == 0 and not ended and (self.options.burst or self._done())
            if not expected and not self.stop_requested and not self._done():
                self.respawn_after(child)

    def respawn_after(self, child: Child) -> None:
        """Replace a process that died; one that dies young waits longer each time (no crash
        loop while, say, the database is away)."""
        young = time.monotonic() - child.started < 5
        self.quick_deaths = self.quick_deaths + 1 if young else 0
        pause = min(2.0**self.quick_deaths, 30.0) if young else 0.0
        self.pending.append(time.monotonic() + pause)

    def spawn_pending(self) -> None:
        now = time.monotonic()
        due = [t for t in self.pending if t <= now]
        if not due or self.stop_requested:
            return
        self.pending = [t for t in self.pending if t > now]
        for _ in due:
            try:
                self.spawn()
            except DatabaseError as exc:
                log_event("worker.spawn_failed", logging.ERROR, error=str(exc)[:200])
                connections[self.alias].close()
                self.pending.append(now + 5)

    def replace(self, child: Child) -> None:
        """A process stopped hard: a new one in its place at once, unless stopping or the
        ``--max-jobs`` budget is spent."""
        if not self.stop_requested and not self._done():
            self.pending.append(time.monotonic())

    def _done(self) -> bool:
        return protocol.budget_spent(self.budget)

    def retire(self, child: Child) -> None:
        """An ended process: out of ``children``, its counts kept, its row ``stopped``."""
        if child in self.children:
            self.children.remove(child)
        self.status.retired(child)
        self.rows.stopped(child.worker_id)

    # --- signals ----------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stop_requested += 1
        if self.stop_requested == 1:
            protocol.raise_stop_flag(self.stop_flag)  # before the log line: no claim after it
            self.stop_started = time.monotonic()
            log_event("worker.stopping", worker=self.worker_id, signal=signal.Signals(signum).name)
            for child in list(self.children):
                self.tell_to_stop(child)
            return
        log_event("worker.stopping_now", logging.WARNING, worker=self.worker_id)
        self.stop_started = -1e9  # the next supervise() turn kills and requeues
        sys.stdout.flush()

    def tell_to_stop(self, child: Child) -> None:
        """SIGTERM to a process, once: it stops claiming and applies its job's on_shutdown."""
        if child.told_to_stop:
            return
        child.told_to_stop = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.process.pid, signal.SIGTERM)
