"""The supervisor: starts the worker processes, watches them, stops them.

It registers the worker tree in the Worker table and heartbeats every row of it, replaces
a process that dies, stops hard a job past its timeout (the process is killed and replaced,
the attempt fails with outcome "timeout"), and applies the shutdown policy: the first
SIGTERM/SIGINT stops claiming and lets each job follow its ``on_shutdown`` within the grace
period; a second one stops everything at once, requeueing. A signal that arrives while the
worker starts is honoured too: no process is started after it, and every process started
before it is told (see ``worker.process``).
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
from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.logs import log_event
from django_jobs.models import Outcome, Worker, WorkerState
from django_jobs.worker import burst, maintenance, recurring
from django_jobs.worker.hard_stops import HardStops
from django_jobs.worker.loop import IDLE, LoopOptions, QueueSelector, Slot
from django_jobs.worker.process import child_main, signals_held
from django_jobs.worker.wakeup import Waiter

_fork = multiprocessing.get_context("fork")
#: Seconds between two "worker.summary" log lines.
SUMMARY_INTERVAL = 60.0


@dataclass
class Child:
    worker_id: str
    process: Any
    slot: Slot
    started: float = field(default_factory=time.monotonic)
    told_to_stop: bool = False


@dataclass
class Supervisor(HardStops):
    options: LoopOptions
    concurrency: int
    name: str = ""
    children: list[Child] = field(default_factory=list)
    stop_requested: int = 0
    stop_started: float = 0.0
    progress: burst.ProgressBar | None = None
    pending: list[float] = field(default_factory=list)
    quick_deaths: int = 0
    woken: bool = False
    marked_stopping: bool = False
    next_watch: float = 0.0
    cancel_signalled: set[Any] = field(default_factory=set)
    cancel_noted: set[Any] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.alias = jobs_settings.DATABASE
        base = self.name or socket.gethostname()
        self.worker_id = f"{base}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
        self.generation = 0
        self.started = time.monotonic()
        self.finished_processed = 0
        self.finished_failed = 0
        self.hard_stops = 0  # processes stopped hard: a job past its timeout, cancelled, ...
        self.report: burst.Report | None = None  # with --burst, once it has ended
        # --max-jobs is for the whole worker: its processes draw from one shared budget.
        limit = self.options.max_jobs
        self.budget = _fork.Value("i", limit) if limit is not None else None
        # Set at the first signal, read by every process before it claims. No lock: a
        # process killed while holding one would leave the supervisor's handler waiting.
        self.stop_flag = _fork.RawValue("b", 0)
        self.waiter = Waiter(self.alias)

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
        self.register()
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
            self.progress = burst.ProgressBar(total, progress_stream)
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
        if self.progress is not None:
            self.progress.show(self.processed())
            self.progress.close()
        if self.options.burst:
            queues = QueueSelector(self.options.queues, self.options.role, self.alias).current()
            self.report = burst.report(self.worker_id, queues, self.alias, self.processed())
        self.unregister()
        self.waiter.close()

    def register(self) -> None:
        Worker.objects.using(self.alias).create(
            id=self.worker_id,
            name=self.name,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            queues=self.options.queues or [],
            role=self.options.role or "",
            concurrency=self.concurrency,
        )

    def unregister(self) -> None:
        now = timezone.now()
        ids = [self.worker_id, *(c.worker_id for c in self.children)]
        Worker.objects.using(self.alias).filter(pk__in=ids).exclude(state=WorkerState.DEAD).update(
            state=WorkerState.STOPPED, stopped_at=now
        )
        log_event(
            "worker.stopped",
            worker=self.worker_id,
            processed=self.processed(),
            hard_stops=self.hard_stops,
        )

    def spawn(self) -> Child | None:
        """Start one worker process (added to ``children``); ``None`` when a stop was asked
        for first. Forked with the stop signals held, so that whenever one arrives, either
        no process is started or the new one is in ``children`` and is told to stop."""
        self.generation += 1
        worker_id = f"{self.worker_id}/{self.generation}"
        Worker.objects.using(self.alias).create(
            id=worker_id,
            supervisor_id=self.worker_id,
            hostname=socket.gethostname(),
            pid=0,
            queues=self.options.queues or [],
            role=self.options.role or "",
            concurrency=1,
        )
        slot = self.new_slot()
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
        rows = Worker.objects.using(self.alias).filter(pk=worker_id)
        if child is None:
            rows.update(state=WorkerState.STOPPED, stopped_at=timezone.now())
            return None
        if self.stop_requested:  # the signal came while the process was being started
            self.tell_to_stop(child)
        rows.update(pid=child.process.pid)
        return child

    def new_slot(self) -> Slot:
        return Slot(
            _fork.Value("d", 0.0),
            _fork.Value("i", IDLE),
            _fork.Value("i", 0),
            _fork.Value("i", 0),
            budget=self.budget,
            current=_fork.RawArray("c", 16),
            cancels=_fork.Value("i", 0),
            stop=self.stop_flag,
        )

    # --- watching ---------------------------------------------------------------------------

    def supervise(self) -> None:
        next_beat = 0.0
        next_summary = time.monotonic() + SUMMARY_INTERVAL
        while self.children or (self.pending and not self.stop_requested):
            try:
                next_beat, next_summary = self.watch_once(next_beat, next_summary)
            except (DatabaseError, InterfaceError) as exc:
                # The database is away: the processes keep their jobs; a job whose end could
                # not be written stays running and is rescued once the database is back.
                log_event("worker.database_error", logging.ERROR, error=str(exc).strip()[:200])
                connections[self.alias].close()
                time.sleep(1)
            # A cancel request NOTIFYs (PostgreSQL): look at the jobs at once when woken.
            self.woken = self.waiter.wait(0.1, jitter=False)

    def watch_once(self, next_beat: float, next_summary: float) -> tuple[float, float]:
        """One turn of supervision; returns when the next heartbeat and summary are due."""
        now = time.monotonic()
        # First, before any database work that could fail: the shutdown grace is kept even
        # when the database is away or locked (say, by a process that will not stop).
        if self.stop_requested and now - self.stop_started > jobs_settings.SHUTDOWN_GRACE:
            self.kill_all("the shutdown grace period ran out")
        self.spawn_pending()
        if now >= next_beat:
            self.heartbeat()
            next_beat = now + jobs_settings.HEARTBEAT_INTERVAL
        if now >= next_summary:
            self.summary()
            next_summary = now + SUMMARY_INTERVAL
        if self.progress is not None:
            self.progress.show(self.processed())
        self.enforce_deadlines()
        if self.woken or now >= self.next_watch:
            self.watch_jobs()
            self.next_watch = now + 0.5
        self.reap()
        if self.stop_requested and not self.marked_stopping:
            ids = [self.worker_id, *(c.worker_id for c in self.children)]
            Worker.objects.using(self.alias).filter(pk__in=ids).update(state=WorkerState.STOPPING)
            self.marked_stopping = True
        return next_beat, next_summary

    def summary(self) -> None:
        """The periodic one-line summary: jobs run and failed so far, processes stopped hard,
        processes alive."""
        failed = self.finished_failed + sum(c.slot.failed.value for c in self.children)
        elapsed = time.monotonic() - self.started
        log_event(
            "worker.summary",
            worker=self.worker_id,
            processed=self.processed(),
            failed=failed,
            hard_stops=self.hard_stops,
            processes=len(self.children),
            rate=self.processed() / elapsed if elapsed else 0.0,
        )

    def heartbeat(self) -> None:
        ids = [self.worker_id, *(c.worker_id for c in self.children)]
        Worker.objects.using(self.alias).filter(pk__in=ids).update(heartbeat_at=timezone.now())

    def reap(self) -> None:
        """Collect ended processes; replace them unless stopping or draining (burst)."""
        for child in list(self.children):
            if child.process.is_alive():
                continue
            child.process.join()
            self.retire(child)
            code = child.process.exitcode
            # A process may end in the middle of a job (a crash, os._exit() in job code).
            ended = maintenance.end_process_jobs(
                child.worker_id,
                child.slot.current_job(),
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
            expected = code == 0 and not ended and (self.options.burst or self._done(child))
            if not expected and not self.stop_requested and not self._done(child):
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

    def _done(self, child: Child) -> bool:
        return self.budget is not None and self.budget.value <= 0

    def retire(self, child: Child) -> None:
        """An ended process: out of ``children``, its counts kept, its row ``stopped``."""
        if child in self.children:
            self.children.remove(child)
        self._count(child)
        Worker.objects.using(self.alias).filter(pk=child.worker_id).update(
            state=WorkerState.STOPPED, stopped_at=timezone.now()
        )

    def _count(self, child: Child) -> None:
        self.finished_processed += child.slot.processed.value
        self.finished_failed += child.slot.failed.value

    def processed(self) -> int:
        return self.finished_processed + sum(c.slot.processed.value for c in self.children)

    # --- signals ----------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stop_requested += 1
        if self.stop_requested == 1:
            self.stop_flag.value = 1  # before the log line: nothing is claimed after it
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
