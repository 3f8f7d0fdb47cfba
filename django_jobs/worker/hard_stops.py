"""The supervisor's hard stops: a worker process is killed on purpose and replaced.

Four reasons, each recorded as the attempt's outcome: a job past its timeout that ignored the
soft one (``timeout``), a cancelled job still running after ``DJANGO_JOBS_CANCEL_GRACE``
(``cancelled``), a job silent past its ``heartbeat_timeout`` (``stalled``), and a shutdown that
cannot wait (``interrupted``). Each is expected, so it is logged as ``worker.process_killed``
at WARNING and counted in the worker's summary, never as a process death.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.logs import log_event
from django_jobs.models import Job, Outcome
from django_jobs.states import State
from django_jobs.worker import maintenance
from django_jobs.worker.loop import CANCEL_SIGNAL

if TYPE_CHECKING:
    from django_jobs.worker.supervisor import Child


class HardStops:
    """The part of the ``Supervisor`` that stops processes hard (a mixin: it uses the
    supervisor's processes, ``retire()`` and its stop state)."""

    alias: str
    children: list[Child]
    pending: list[float]
    stop_requested: int
    hard_stops: int
    cancel_signalled: set[Any]
    cancel_noted: set[Any]

    def retire(self, child: Child) -> None:
        raise NotImplementedError

    def _done(self, child: Child) -> bool:
        raise NotImplementedError

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

    def kill(self, child: Child, outcome: str, reason: str) -> None:
        """Stop a process hard, on purpose (its job is past its timeout, cancelled or stalled,
        or the shutdown cannot wait): record the end of its job and replace it unless
        stopping. Logged as what it is, ``worker.process_killed``, not as a death."""
        child.process.kill()
        child.process.join()
        job = child.slot.current_job()
        ended = maintenance.end_process_jobs(child.worker_id, job, outcome, reason)
        self.retire(child)
        self.hard_stops += 1
        log_event(
            "worker.process_killed",
            logging.WARNING,
            worker=child.worker_id,
            job=job,
            outcome=outcome,
            jobs=ended,
        )
        if not self.stop_requested and not self._done(child):
            self.pending.append(time.monotonic())  # a new process in its place, at once

    def kill_all(self, reason: str) -> None:
        alive = [child for child in self.children if child.process.is_alive()]
        for child in alive:  # every process first: recording the jobs needs the database
            child.process.kill()
        for child in alive:
            self.kill(child, Outcome.INTERRUPTED, reason)
