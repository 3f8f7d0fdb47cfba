"""The supervisor: starts the worker processes, watches them, stops them.

It registers the worker tree in the Worker table and heartbeats every row of it, replaces
a process that dies, stops hard a job past its timeout (the process is killed and replaced,
the attempt fails with outcome "timeout"), and applies the shutdown policy: the first
SIGTERM/SIGINT stops claiming and lets each job follow its ``on_shutdown`` within the grace
period; a second one stops everything at once, requeueing.
"""

from __future__ import annotations

import ctypes
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
from django.db.models import Q
from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.logs import log_event
from django_jobs.models import Job, Outcome, Worker, WorkerState
from django_jobs.states import State
from django_jobs.worker import maintenance, recurring
from django_jobs.worker.loop import CANCEL_SIGNAL, IDLE, LoopOptions, Slot, WorkerLoop
from django_jobs.worker.wakeup import Waiter

_fork = multiprocessing.get_context("fork")
#: Seconds between two "worker.summary" log lines.
SUMMARY_INTERVAL = 60.0


class ProgressBar:
    """``--burst`` on a terminal: ``[#####.....] 120/400 jobs`` redrawn in place."""

    def __init__(self, total: int, stream: Any) -> None:
        self.total, self.stream, self.shown = max(total, 1), stream, -1

    def show(self, done: int) -> None:
        if done == self.shown:
            return
        self.shown = done
        filled = min(30, 30 * done // self.total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} jobs")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


@dataclass
class Child:
    worker_id: str
    process: Any
    slot: Slot
    started: float = field(default_factory=time.monotonic)


def _die_with_parent() -> None:
    """Linux: the kernel kills this process if its supervisor dies (no orphans run jobs)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _child_main(worker_id: str, options: LoopOptions, slot: Slot) -> None:
    _die_with_parent()
    connections.close_all()  # never share the parent's sockets
    loop = WorkerLoop(worker_id, options, slot)
    loop.install_signals()
    try:
        loop.run()
    finally:
        connections.close_all()


@dataclass
class Supervisor:
    options: LoopOptions
    concurrency: int
    name: str = ""
    children: list[Child] = field(default_factory=list)
    stop_requested: int = 0
    stop_started: float = 0.0
    progress: ProgressBar | None = None
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
        # --max-jobs is for the whole worker: its processes draw from one shared budget.
        limit = self.options.max_jobs
        self.budget = _fork.Value("i", limit) if limit is not None else None
        self.waiter = Waiter(self.alias)

    # --- lifecycle ------------------------------------------------------------------------

    def run(self, progress_stream: Any = None) -> int:
        """Start, supervise until every process has ended, clean up; return the exit code.

        ``progress_stream``: in burst mode, draw a progress bar there (a terminal).
        """
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.register()
        if self.options.burst and progress_stream is not None:
            self.progress = ProgressBar(self.ready_count(), progress_stream)
        if self.options.recurring:
            recurring.sync_schedules()
        maintenance.rescue_dead_workers()
        connections.close_all()
        for _ in range(self.concurrency):
            self.children.append(self.spawn())
        log_event(
            "worker.started",
            worker=self.worker_id,
            processes=self.concurrency,
            queues=",".join(self.options.queues or []) or None,
            role=self.options.role,
        )
        try:
            self.supervise()
        finally:
            if self.progress is not None:
                self.progress.show(self.processed())
                self.progress.close()
            self.unregister()
            self.waiter.close()
        return 0

    def ready_count(self) -> int:
        ready = Job.objects.using(self.alias).filter(state=State.QUEUED)
        if self.options.queues:
            ready = ready.filter(queue__in=self.options.queues)
        return ready.count()

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
        log_event("worker.stopped", worker=self.worker_id, processed=self.processed())

    def spawn(self) -> Child:
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
        slot = Slot(
            _fork.Value("d", 0.0),
            _fork.Value("i", IDLE),
            _fork.Value("i", 0),
            _fork.Value("i", 0),
            budget=self.budget,
            current=_fork.RawArray("c", 16),
            cancels=_fork.Value("i", 0),
        )
        connections.close_all()
        process = _fork.Process(
            target=_child_main,
            args=(worker_id, self.options, slot),
            name=f"runjobs {worker_id}",
            daemon=False,
        )
        process.start()
        Worker.objects.using(self.alias).filter(pk=worker_id).update(pid=process.pid)
        return Child(worker_id, process, slot)

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
        """The periodic one-line summary: jobs run and failed so far, processes alive."""
        failed = self.finished_failed + sum(c.slot.failed.value for c in self.children)
        elapsed = time.monotonic() - self.started
        log_event(
            "worker.summary",
            worker=self.worker_id,
            processed=self.processed(),
            failed=failed,
            processes=len(self.children),
            rate=self.processed() / elapsed if elapsed else 0.0,
        )

    def heartbeat(self) -> None:
        ids = [self.worker_id, *(c.worker_id for c in self.children)]
        Worker.objects.using(self.alias).filter(pk__in=ids).update(heartbeat_at=timezone.now())

    def watch_jobs(self) -> None:
        """Interrupt cancelled jobs (then stop them hard after the grace), stop stalled ones."""
        by_id = {c.worker_id: c for c in self.children if c.process.is_alive()}
        if not by_id:
            return
        now = timezone.now()
        rows = (
            Job.objects.using(self.alias)
            .filter(state=State.RUNNING, worker__in=list(by_id))
            .filter(Q(cancel_requested_at__isnull=False) | Q(lease_expires_at__lt=now))
            .values_list("pk", "worker", "cancel_requested_at", "lease_expires_at")
        )
        for pk, worker, cancel_at, lease in rows:
            child = by_id[worker]
            if pk != child.slot.current_job():
                # Claimed by the process but not running (waiting its turn in the batch, or
                # run and not recorded yet): the process looks before it starts the job.
                if cancel_at is not None and pk not in self.cancel_noted:
                    self.cancel_noted.add(pk)
                    child.slot.cancels.value += 1
                continue
            if lease is not None and lease < now:
                log_event("job.stalled", logging.WARNING, job=pk, worker=worker)
                self.kill(
                    child,
                    Outcome.STALLED,
                    "stalled: no heartbeat() within the job's heartbeat_timeout",
                )
            elif pk not in self.cancel_signalled:
                self.cancel_signalled.add(pk)
                os.kill(child.process.pid, CANCEL_SIGNAL)
            elif (now - cancel_at).total_seconds() > jobs_settings.CANCEL_GRACE:
                self.kill(
                    child,
                    Outcome.CANCELLED,
                    "cancelled; stopped hard after the cancel grace period",
                )

    def enforce_deadlines(self) -> None:
        for child in list(self.children):
            deadline = child.slot.deadline.value
            if deadline and time.time() > deadline and child.process.is_alive():
                log_event("worker.hard_timeout", logging.WARNING, worker=child.worker_id)
                self.kill(
                    child,
                    Outcome.TIMEOUT,
                    "timeout: the job ignored its soft timeout and was stopped hard",
                )

    def reap(self) -> None:
        """Collect ended processes; replace them unless stopping or draining (burst)."""
        for child in list(self.children):
            if child.process.is_alive():
                continue
            child.process.join()
            self.children.remove(child)
            self._count(child)
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
            Worker.objects.using(self.alias).filter(pk=child.worker_id).update(
                state=WorkerState.STOPPED, stopped_at=timezone.now()
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
                self.children.append(self.spawn())
            except DatabaseError as exc:
                log_event("worker.spawn_failed", logging.ERROR, error=str(exc)[:200])
                connections[self.alias].close()
                self.pending.append(now + 5)

    def _done(self, child: Child) -> bool:
        return self.budget is not None and self.budget.value <= 0

    def kill(self, child: Child, outcome: str, reason: str) -> None:
        """Stop a process at once and record the end of the job it was running."""
        child.process.kill()
        child.process.join()
        maintenance.end_process_jobs(child.worker_id, child.slot.current_job(), outcome, reason)

    def kill_all(self, reason: str) -> None:
        alive = [child for child in self.children if child.process.is_alive()]
        for child in alive:  # every process first: recording the jobs needs the database
            child.process.kill()
        for child in alive:
            self.kill(child, Outcome.INTERRUPTED, reason)

    def _count(self, child: Child) -> None:
        self.finished_processed += child.slot.processed.value
        self.finished_failed += child.slot.failed.value

    def processed(self) -> int:
        return self.finished_processed + sum(c.slot.processed.value for c in self.children)

    # --- signals ----------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stop_requested += 1
        if self.stop_requested == 1:
            self.stop_started = time.monotonic()
            log_event("worker.stopping", worker=self.worker_id, signal=signal.Signals(signum).name)
            for child in self.children:
                if child.process.is_alive():
                    os.kill(child.process.pid, signal.SIGTERM)
            return
        log_event("worker.stopping_now", logging.WARNING, worker=self.worker_id)
        self.stop_started = -1e9  # the next supervise() turn kills and requeues
        sys.stdout.flush()
