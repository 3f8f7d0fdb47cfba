"""What a worker process and its supervisor tell each other while the process runs.

The supervisor forks each process with a ``Slot``: a few values in shared memory
(``multiprocessing`` values, made by ``new_slot``), each written by one side only. Outside
``runjobs`` (tests, a loop built directly) a ``Slot()`` holds no values and every method below
does nothing, or answers as a process alone would.

Each field, who writes it and when, who reads it and why:

A process runs up to ``size`` jobs at once (its slots: one ``"process"`` job, or up to
``--slots`` async and thread jobs); each running job has a place, ``0`` to ``size - 1``,
chosen by the process (the last, ``size - 1``, is for a non-durable recurring run, which
runs in the loop's own thread beside them), in the two per-place arrays:

* ``deadline[place]``: the process, when a job starts there: the ``time.time()`` after which
  the job is stopped hard (its timeout plus ``DJANGO_JOBS_TIMEOUT_GRACE``; 0: no timeout); 0
  when the job ends. The supervisor reads them every turn (``late_jobs``): past one, the
  process is killed, that attempt ends ``timeout`` and its other jobs go back to the queue.
* ``current[place]``: the process, when a job starts there: the job's id (16 bytes); zeros
  when it ends. The supervisor reads them (``running_jobs``) to tell the running jobs
  (signalled when asked to cancel) from the ones claimed and waiting, and to record the jobs
  of a process that died or was killed.
* ``processed``, ``failed``: the process, after each job: the jobs run so far, and one more
  failure when the job did not succeed. The supervisor reads them (``counts``) for the
  progress bar, ``worker.summary`` and the totals kept when a process ends.
* ``cancels``: the supervisor adds one (``note_cancel``) when a job the process claimed but
  does not run yet is asked to cancel. Before the process starts a claimed job that waited
  its turn, it compares the count with the one it last saw (``cancels_changed``); only when
  it changed does it ask the database which of its jobs were.
* ``budget`` (the whole worker's, under its lock; ``--max-jobs`` only): each process takes
  jobs from it before a claim and gives back what it did not claim. The supervisor reads it
  (``budget_spent``): a process that ends once it is spent is not replaced.
* ``stop`` (the whole worker's, no lock): the supervisor sets it at the first stop signal,
  before it logs ``worker.stopping``. Each process reads it before each claim and
  each job it starts (``stop_asked``), so no claim starts after that line.

The process writes a place's ``deadline`` before its ``current`` when a job starts and
clears them in the same order when it ends; ``processed`` and ``failed`` are written after
both are cleared.

Signals complete the protocol: ``SIGTERM`` (once per process, ``Supervisor.tell_to_stop``)
means stop claiming and apply each running job's ``on_shutdown``; ``CANCEL_SIGNAL`` means a
running job was asked to cancel (the process asks the database which); ``SIGKILL`` is a hard
stop (``worker.watchdog``).
"""

from __future__ import annotations

import multiprocessing
import signal
import time
import uuid
from dataclasses import dataclass
from typing import Any

#: The supervisor tells a process that its running job was cancelled with this signal.
CANCEL_SIGNAL = signal.SIGUSR1

_fork = multiprocessing.get_context("fork")


def new_budget(max_jobs: int | None) -> Any:
    """The worker's shared ``--max-jobs`` budget (``None``: no limit)."""
    return _fork.Value("i", max_jobs) if max_jobs is not None else None


def new_stop_flag() -> Any:
    """The worker's shared stop flag. No lock: a process killed while holding one would leave
    the supervisor's signal handler waiting."""
    return _fork.RawValue("b", 0)


def raise_stop_flag(stop: Any) -> None:
    """The supervisor, at the first stop signal: no process claims from now on."""
    stop.value = 1


def new_slot(budget: Any, stop: Any, size: int = 1) -> Slot:
    """The values one process shares with its supervisor (``budget`` and ``stop``: the
    worker's, the same for every process; ``size``: how many jobs it runs at once)."""
    return Slot(
        deadline=_fork.RawArray("d", size),
        processed=_fork.Value("i", 0),
        failed=_fork.Value("i", 0),
        budget=budget,
        current=_fork.RawArray("c", 16 * size),
        cancels=_fork.Value("i", 0),
        stop=stop,
        size=size,
    )


def budget_spent(budget: Any) -> bool:
    """The shared budget is used up (never, without one)."""
    return budget is not None and budget.value <= 0


@dataclass
class Slot:
    """The shared values of one process (see the module's docstring); ``None``: not shared."""

    deadline: Any = None
    processed: Any = None
    failed: Any = None
    budget: Any = None
    current: Any = None
    cancels: Any = None
    stop: Any = None
    size: int = 1

    # --- written by the process -------------------------------------------------------------

    def job_started(self, job_id: uuid.UUID, deadline: float, place: int = 0) -> None:
        """A job runs now at ``place``; ``deadline``: when to stop it hard (0: never)."""
        if self.deadline is not None:
            self.deadline[place] = deadline
        self.set_current(job_id, place)

    def job_ended(self, place: int = 0) -> None:
        """The job at ``place`` ended (or its run raised): no deadline, no job there."""
        if self.deadline is not None:
            self.deadline[place] = 0.0
        self.set_current(None, place)

    def job_counted(self, processed: int, ok: bool) -> None:
        """After a job: the jobs run so far, and one more failure unless it succeeded."""
        self._set("processed", processed)
        if not ok and self.failed is not None:
            self.failed.value += 1

    def take_budget(self, wanted: int) -> int:
        """Up to ``wanted`` jobs taken from the shared budget (``wanted``, without one)."""
        if self.budget is None:
            return wanted
        with self.budget.get_lock():
            taken = max(0, min(wanted, self.budget.value))
            self.budget.value -= taken
        return taken

    def return_budget(self, unused: int) -> None:
        if unused > 0 and self.budget is not None:
            with self.budget.get_lock():
                self.budget.value += unused

    def set_current(self, job_id: uuid.UUID | None, place: int = 0) -> None:
        if self.current is not None:
            start = 16 * place
            self.current[start : start + 16] = job_id.bytes if job_id is not None else bytes(16)

    def _set(self, name: str, value: float) -> None:
        holder = getattr(self, name)
        if holder is not None:
            holder.value = value

    # --- read by the process ----------------------------------------------------------------

    def stop_asked(self) -> bool:
        return self.stop is not None and bool(self.stop.value)

    def cancels_changed(self, seen: int) -> int | None:
        """The new count of cancel notes when it differs from ``seen``, else ``None``."""
        if self.cancels is None or self.cancels.value == seen:
            return None
        return int(self.cancels.value)

    # --- written by the supervisor ----------------------------------------------------------

    def note_cancel(self) -> None:
        """A job the process claimed, not running yet, was asked to cancel."""
        self.cancels.value += 1

    # --- read by the supervisor -------------------------------------------------------------

    def running_jobs(self) -> list[uuid.UUID]:
        """The ids of the jobs the process runs now."""
        if self.current is None:
            return []
        raw = self.current.raw
        places = (raw[16 * place : 16 * place + 16] for place in range(self.size))
        return [uuid.UUID(bytes=bytes(place)) for place in places if any(place)]

    def late_jobs(self) -> list[uuid.UUID]:
        """The running jobs past their deadline."""
        if self.current is None:
            return []
        now, raw = time.time(), self.current.raw
        return [
            uuid.UUID(bytes=bytes(raw[16 * place : 16 * place + 16]))
            for place, deadline in enumerate(self.deadline[: self.size])
            if deadline and now > deadline and any(raw[16 * place : 16 * place + 16])
        ]

    def counts(self) -> tuple[int, int]:
        """``(processed, failed)`` so far."""
        return self.processed.value, self.failed.value
