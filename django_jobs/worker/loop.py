"""The cooperative loop of one worker process.

Each turn: (1) enqueue due recurring runs, (2) record the async and thread jobs whose code
ended (``worker.slots``), (3) claim ready jobs and start them: a ``"process"`` job runs here,
alone, an async or thread job in a free slot, (4) maintenance when due, (5) wait for a
wake-up, a slot's job to end, or the idle interval. Signals: SIGTERM stops claiming (and
interrupts each running job whose ``on_shutdown`` says so); SIGINT is left to the supervisor.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, InterfaceError, connections
from django.utils import timezone

from django_jobs import db
from django_jobs.conf import jobs_settings
from django_jobs.context import body, request_cancel
from django_jobs.exceptions import JobInterrupted
from django_jobs.logs import log_event
from django_jobs.models import Job, Outcome
from django_jobs.registry import registry
from django_jobs.worker import limits, maintenance, record, recurring, tend
from django_jobs.worker.claim import claim_ready
from django_jobs.worker.completions import Completions
from django_jobs.worker.execute import execute, in_job_body
from django_jobs.worker.protocol import CANCEL_SIGNAL, Slot, budget_spent
from django_jobs.worker.selector import QueueSelector
from django_jobs.worker.slots import PROCESS, Slots, run_mode
from django_jobs.worker.wakeup import Waiter

#: What the running job's ``on_shutdown`` asks of a SIGTERM (``IDLE``: no job runs).
IDLE, FINISH, REQUEUE, STOP = 0, 1, 2, 3
POLICY_CODES = {"finish": FINISH, "requeue": REQUEUE, "stop": STOP}


@dataclass
class LoopOptions:
    queues: list[str] | None = None  # None: every queue
    role: str | None = None
    burst: bool = False
    max_jobs: int | None = None
    idle_interval: float = 1.0
    recurring: bool = True
    slots: int | None = None  # None: DJANGO_JOBS_SLOTS

    def slot_count(self) -> int:
        """How many async and thread jobs a process runs at once."""
        return self.slots or jobs_settings.SLOTS


@dataclass
class WorkerLoop:
    worker_id: str
    options: LoopOptions
    slot: Slot = field(default_factory=Slot)
    stopping: bool = False
    processed: int = 0
    current_policy: int = IDLE

    def __post_init__(self) -> None:
        self.alias = jobs_settings.DATABASE
        self.selector = QueueSelector(self.options.queues, self.options.role, self.alias)
        self.waiter = Waiter(self.alias)
        tree = self.worker_id.rsplit("/", 1)[0] + "/%" if "/" in self.worker_id else self.worker_id
        self.limit_config = limits.LimitConfig(tree, self.alias)
        self.next_recurring = 0.0
        self.next_stage = 0.0
        self.next_maintenance = time.monotonic() + jobs_settings.MAINTENANCE_INTERVAL
        #: PostgreSQL: the process's own connection for the claim and the completions.
        self.session = db.worker_session(self.alias)
        self.completions = Completions(self.worker_id, self.session)
        self.pace = 0.0  # seconds a job took here lately (moving average; 0: none yet)
        self.cancels_seen = 0
        self.cancel_asked: set[uuid.UUID] = set()
        self.claimed: list[Job] = []  # claimed by this process, not started yet
        self.last_claimed = 0  # jobs the last turn claimed
        self.burst_check = False  # burst: the next turn is the one after the last staging
        self.slots = Slots(self.options.slot_count(), self.worker_id)
        self.cancel_check = False  # CANCEL_SIGNAL came: which slot jobs were cancelled?
        self.term_received = False  # SIGTERM: each slot job follows its on_shutdown
        self.concurrent_claims = False  # the last claim held async or thread jobs
        self.alone_waiting = False  # a "process" job was handed back: claim once idle
        self.pickup = False  # a wake-up came: claim first, the periodic work after

    def install_signals(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(CANCEL_SIGNAL, self._on_cancel)

    def _on_cancel(self, signum: int, frame: Any) -> None:
        request_cancel()  # the running "process" job, if it is the one
        self.cancel_check = True
        self.slots.wake()

    def _on_term(self, signum: int, frame: Any) -> None:
        self.stopping = self.term_received = True
        self.slots.wake()
        policy = self.current_policy
        if policy in (REQUEUE, STOP):
            self.current_policy = IDLE  # a second signal must not interrupt the cleanup
            if in_job_body():
                raise _shutting_down(policy)
            # Its code has not started: on_shutdown is for running jobs, this one goes back
            # to the queue (raised as the body starts).
            body.pending = _shutting_down(REQUEUE)

    def run(self) -> int:
        """Run until stopped (or drained, with ``burst``); return the number of jobs run."""
        outage = 0
        self.completions.watch()
        try:
            while self.slots.busy or (not self.should_stop() and not self._limit_reached()):
                try:
                    ran = self.turn()
                    if self.options.burst and self._burst_over(ran):
                        break
                    outage = 0
                except (DatabaseError, InterfaceError) as exc:
                    outage += 1
                    self._database_away(exc, outage)
                    continue
                if self.slots.busy:
                    self.slots.wait(tend.wait_seconds(self))
                elif ran == 0 and not self.stopping and not self.burst_check:
                    self.pickup = self.waiter.wait(self.options.idle_interval)
        finally:
            try:
                if self.claimed:  # a turn ended early, then the worker was told to stop
                    with contextlib.suppress(DatabaseError, InterfaceError):
                        self._hand_back(self.claimed)
                self.completions.close()
            finally:
                self.slots.close()
                self.waiter.close()
                if self.session is not None:
                    self.session.close()
        return self.processed

    def should_stop(self) -> bool:
        """Told to stop: by SIGTERM, or by the supervisor's flag (which is set before it logs
        ``worker.stopping``, so no claim starts after that line)."""
        if not self.stopping and self.slot.stop_asked():
            self.stopping = True
        return self.stopping

    def _database_away(self, exc: Exception, attempt: int) -> None:
        """Drop the broken connection and wait (1, 2, 4 ... 30 s) before trying again."""
        pause = min(2 ** (attempt - 1), 30)
        log_event(
            "worker.database_error",
            logging.ERROR,
            worker=self.worker_id,
            error=str(exc).strip()[:200],
            retry_in=pause,
        )
        connections[self.alias].close()
        if self.session is not None:
            self.session.close()
        deadline = time.monotonic() + pause
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)

    def turn(self) -> int:
        """One pass of the loop without the wait; return how many jobs ran. After a wake-up
        (``pickup``), the claim comes first and the periodic work after the turn's jobs."""
        pickup, self.pickup = self.pickup, False
        if not pickup:
            self._periodic()
        try:
            return self._turn(pickup)
        finally:
            if pickup:
                self._periodic()

    def _turn(self, pickup: bool) -> int:
        ended = tend.tend(self) if self.slots.busy else 0
        self.last_claimed = 0
        queues = self.selector.current(stale_ok=pickup)
        if (queues is not None and not queues) or self.should_stop():
            self.completions.flush()
            return ended
        fresh = None  # the first job of a new claim starts at its claim's time
        if self.alone_waiting and not self.slots.busy:
            self.alone_waiting = False
        if not self.claimed:
            if not self.slots.free or self.alone_waiting or not self._claim_batch(queues, pickup):
                self.completions.flush()
                return ended
            fresh = self.claimed[0] if self.claimed else None
        ran = self._run_claimed(fresh)
        self.completions.flush()
        return ended + ran

    def _claim_batch(self, queues: list[str] | None, pickup: bool = False) -> bool:
        """Claim the next batch into ``claimed``; ``False`` when the budget is spent (the
        process stops)."""
        limit = self._take_budget(self.batch_size())
        if self.concurrent_claims:  # async and thread jobs: as many as there are free slots
            limit = self._take_budget(max(0, self.slots.free - limit)) + limit
        if limit == 0:
            self.stopping = True
            return False
        self.claimed = self.claim(queues, limit, stale_ok=pickup)
        self.last_claimed = len(self.claimed)
        self.slot.return_budget(limit - len(self.claimed))
        return True

    def _run_claimed(self, fresh: Job | None) -> int:
        """Run the claimed jobs in order (``fresh``: the first of a claim just made); return
        how many ran."""
        ran = 0
        # Claimed jobs stay in ``self.claimed`` until they start: when a turn ends early (the
        # database went away), the next turn runs them, still under their claim tokens.
        while self.claimed:
            if self.should_stop():  # hand back what we claimed but did not start
                self._hand_back(self.claimed)
                self.claimed = []
                break
            job = self.claimed[0]
            if job is not fresh and job.pk in self._asked_to_cancel(self.claimed):
                self._cancel_before_start(job)
                self.claimed.pop(0)
                continue
            definition = registry.find(job.name, job.version)
            mode = run_mode(definition)
            if mode != PROCESS:
                self.concurrent_claims = True
                if not self.slots.free:
                    break  # it waits in ``claimed`` for a slot
            elif self.slots.busy:
                # A "process" job runs alone: back to the queue for an idle process (or
                # this one, which claims nothing more until its slots are empty).
                self._hand_back([self.claimed.pop(0)])
                self.alone_waiting = True
                continue
            self.claimed.pop(0)
            if job is not fresh:  # it waited for its turn: it starts now
                job.started_at = timezone.now()
            if mode != PROCESS and definition is not None:
                tend.start(self, job, definition, mode)
                ran += 1
                continue
            self.concurrent_claims = False
            began = time.monotonic()
            ran += self.run_one(job)
            took = time.monotonic() - began
            self.pace = 0.8 * self.pace + 0.2 * took if self.pace else took
            if self.completions.due():
                self.completions.flush()
        return ran

    #: Seconds of work a process claims at once, at most (see ``batch_size``).
    BATCH_SECONDS = 0.05

    def batch_size(self) -> int:
        """How many jobs to claim: as many as this process runs in ``BATCH_SECONDS`` at its
        recent pace, at least one and at most ``1 + DJANGO_JOBS_PREFETCH``. Slow jobs are
        claimed one at a time, so an idle process is never kept from work another holds."""
        most = 1 + jobs_settings.PREFETCH
        if most == 1 or not self.pace:
            return 1
        return max(1, min(most, int(self.BATCH_SECONDS / self.pace)))

    def _asked_to_cancel(self, waiting: list[Job]) -> set[uuid.UUID]:
        """Which of the claimed jobs not started yet were asked to cancel. The supervisor
        bumps ``slot.cancels`` when that happens; only then is the database asked."""
        count = self.slot.cancels_changed(self.cancels_seen)
        if count is not None:
            self.cancels_seen = count
            self.cancel_asked = set(
                Job.objects.using(self.alias)
                .filter(pk__in=[j.pk for j in waiting], cancel_requested_at__isnull=False)
                .values_list("pk", flat=True)
            )
        return self.cancel_asked

    def _cancel_before_start(self, job: Job) -> None:
        reason = maintenance.CANCELLED_BEFORE_START
        record.end_outside(job, Outcome.CANCELLED, reason, self.worker_id)

    def claim(self, queues: list[str] | None, limit: int, *, stale_ok: bool = False) -> list[Job]:
        """Claim ready jobs; with limits in play, one at a time under the claim lock."""
        return claim_ready(
            self.limit_config, self.session, queues, limit, self.worker_id, stale_ok=stale_ok
        )

    def run_one(self, job: Job) -> int:
        definition = registry.find(job.name, job.version)
        if definition is None and job.version > max(
            registry.versions(job.name), default=job.version
        ):
            record.defer_unknown_version(job)
            return 0
        timeout = definition.timeout if definition else None
        grace = jobs_settings.TIMEOUT_GRACE
        body.pending = None
        self.current_policy = POLICY_CODES[definition.on_shutdown] if definition else FINISH
        if self.stopping:  # a SIGTERM since _run_claimed looked: the job has not started
            self.current_policy = IDLE
            self._hand_back([job])
            return 0
        self.slot.job_started(job.pk, time.time() + timeout + grace if timeout else 0)
        self.completions.running_since = time.monotonic()
        try:
            result = execute(job, self.worker_id, self.completions)
        finally:
            self.completions.running_since = None
            self.current_policy = IDLE
            body.pending = None  # a SIGTERM while the attempt was being recorded
            self.slot.job_ended()
        self.processed += 1
        self.slot.job_counted(self.processed, result.ok)
        return 1

    @contextlib.contextmanager
    def _watched(self, run_id: uuid.UUID, timeout: float | None) -> Iterator[None]:
        """A non-durable run in this thread, at the slot's last place (``worker.protocol``):
        past its timeout and the grace, the supervisor stops this process hard."""
        place = self.slot.size - 1
        deadline = time.time() + timeout + jobs_settings.TIMEOUT_GRACE if timeout else 0
        self.slot.job_started(run_id, deadline, place)
        try:
            yield
        finally:
            self.slot.job_ended(place)

    def _hand_back(self, jobs: list[Job]) -> None:
        maintenance.put_back(self.worker_id, ids=[job.pk for job in jobs])

    def _periodic(self) -> None:
        now = time.monotonic()
        if self.options.recurring and now >= self.next_recurring:
            recurring.enqueue_due(watch=self._watched)
            self.next_recurring = now + 1.0
        if now >= self.next_stage:
            maintenance.stage_due()
            self.next_stage = now + min(1.0, self.options.idle_interval)
        if now >= self.next_maintenance:
            maintenance.run_all()
            self.next_maintenance = now + jobs_settings.MAINTENANCE_INTERVAL

    def _limit_reached(self) -> bool:
        if self.slot.budget is not None:
            return budget_spent(self.slot.budget)
        return self.options.max_jobs is not None and self.processed >= self.options.max_jobs

    def _take_budget(self, wanted: int) -> int:
        """How many jobs this process may claim now: from the worker's shared budget, or
        from its own ``max_jobs`` (a loop built without a supervisor)."""
        if self.slot.budget is None and self.options.max_jobs is not None:
            return max(0, min(wanted, self.options.max_jobs - self.processed))
        return self.slot.take_budget(wanted)

    def _burst_over(self, ran: int) -> bool:
        """Burst mode: over once a claim made right after staging got nothing. What a pause,
        a limit, a busy group key or a rate limit holds back is not waited for, nor are
        ``scheduled`` jobs (a future ``run_at``, a retry waiting out its backoff)."""
        if ran or self.last_claimed or self.slots.busy:
            self.burst_check = False
            return False
        if self.burst_check:
            return True
        maintenance.stage_due()  # what has just come due is claimable now: one more turn
        self.burst_check = True
        return False


def _shutting_down(policy: int) -> JobInterrupted:
    return JobInterrupted("the worker is shutting down", requeue=policy == REQUEUE)
