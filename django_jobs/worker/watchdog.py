"""The watchdog: the supervisor's eye on the jobs its processes run, and its hard stops.

Every supervision turn it looks at each process's ``deadline`` and, every half second or at
a wake-up, at the running jobs of its processes that were asked to cancel or whose lease ran
out. What it does to a process:

* a job asked to cancel while it runs: ``CANCEL_SIGNAL`` to its process, once (a sync job
  learns it at its next ``heartbeat()``, an async one at its next ``await``); still running
  after ``DJANGO_JOBS_CANCEL_GRACE``: the process is killed (``cancelled``);
* a job claimed but waiting its turn in the process's batch is asked to cancel: the process
  is told through its slot (``note_cancel``) and skips it;
* a job past its timeout that ignored the soft one: the process is killed (``timeout``);
* a job silent past its ``heartbeat_timeout``: the process is killed (``stalled``);
* a shutdown that cannot wait (``kill_all``): every process is killed (``interrupted``).

A kill is expected, so it is logged as ``worker.process_killed`` at WARNING and counted in
``hard_stops`` (``worker.summary``), never as a process death; the job's attempt is recorded
with the outcome named above, and the process is handed back to the supervisor, which retires
it and starts another in its place unless it is stopping.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Protocol

from django.db.models import Q
from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.logs import log_event
from django_jobs.models import Job, Outcome
from django_jobs.states import State
from django_jobs.worker import maintenance
from django_jobs.worker.protocol import CANCEL_SIGNAL

if TYPE_CHECKING:
    from django_jobs.worker.supervisor import Child


class Tree(Protocol):
    """What the watchdog needs of the supervisor: its processes, and what becomes of one
    it stopped."""

    children: list[Child]

    def retire(self, child: Child) -> None: ...

    def replace(self, child: Child) -> None: ...


class Watchdog:
    def __init__(self, tree: Tree, alias: str) -> None:
        self.tree, self.alias = tree, alias
        self.hard_stops = 0  # processes stopped hard
        self.cancel_signalled: set[Any] = set()  # running jobs whose process got the signal
        self.cancel_noted: set[Any] = set()  # waiting jobs whose process was told

    def enforce_deadlines(self) -> None:
        """Kill the processes that run a job past its deadline."""
        for child in list(self.tree.children):
            late = child.slot.late_jobs()
            if late and child.process.is_alive():
                log_event("worker.hard_timeout", logging.WARNING, worker=child.worker_id)
                self.kill(
                    child,
                    Outcome.TIMEOUT,
                    "timeout: the job ignored its soft timeout and was stopped hard",
                    late,
                )

    def watch_jobs(self) -> None:
        """Interrupt cancelled jobs (then stop them hard after the grace), stop stalled ones."""
        by_id = {c.worker_id: c for c in self.tree.children if c.process.is_alive()}
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
            if child not in self.tree.children:  # stopped hard for another of its jobs
                continue
            if pk not in child.slot.running_jobs():
                # Claimed by the process but not running (waiting its turn in the batch, or
                # run and not recorded yet): the process looks before it starts the job.
                if cancel_at is not None and pk not in self.cancel_noted:
                    self.cancel_noted.add(pk)
                    child.slot.note_cancel()
                continue
            self._watch_running(child, pk, cancel_at, lease, now)

    def _watch_running(self, child: Child, pk: Any, cancel_at: Any, lease: Any, now: Any) -> None:
        """The running job of ``child``: stalled, or asked to cancel."""
        if lease is not None and lease < now:
            log_event("job.stalled", logging.WARNING, job=pk, worker=child.worker_id)
            self.kill(
                child,
                Outcome.STALLED,
                "stalled: no heartbeat() within the job's heartbeat_timeout",
                [pk],
            )
        elif pk not in self.cancel_signalled:
            self.cancel_signalled.add(pk)
            os.kill(child.process.pid, CANCEL_SIGNAL)
        elif (now - cancel_at).total_seconds() > jobs_settings.CANCEL_GRACE:
            self.kill(
                child,
                Outcome.CANCELLED,
                "cancelled; stopped hard after the cancel grace period",
                [pk],
            )

    def kill(
        self, child: Child, outcome: str, reason: str, culprits: list[Any] | None = None
    ) -> None:
        """Stop a process hard, on purpose (a job of it is past its timeout, cancelled or
        stalled: ``culprits``; or the shutdown cannot wait: every job it runs): record
        ``outcome`` for those jobs, put its other jobs back in the queue, and hand the process
        back to the supervisor. Logged as what it is, ``worker.process_killed``, not as a
        death."""
        child.process.kill()
        child.process.join()
        jobs = child.slot.running_jobs() if culprits is None else culprits
        job = jobs[0] if len(jobs) == 1 else ",".join(str(pk) for pk in jobs) or None
        self.hard_stops += 1
        try:
            ended = maintenance.end_process_jobs(child.worker_id, jobs, outcome, reason)
        finally:
            # Out of the tree even when the database is away (the write above raised): the
            # supervisor must still be able to end; the job stays running and is rescued.
            self.tree.retire(child)
        log_event(
            "worker.process_killed",
            logging.WARNING,
            worker=child.worker_id,
            job=job,
            outcome=outcome,
            jobs=ended,
        )
        self.tree.replace(child)

    def kill_all(self, reason: str) -> None:
        alive = [child for child in self.tree.children if child.process.is_alive()]
        for child in alive:  # every process first: recording the jobs needs the database
            child.process.kill()
        for child in alive:
            self.kill(child, Outcome.INTERRUPTED, reason)
