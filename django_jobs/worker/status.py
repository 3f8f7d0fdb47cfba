"""What the supervisor tells of its progress: the worker's counts, the periodic
``worker.summary`` line, and the ``--burst`` progress bar on a terminal."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from django_jobs.logs import log_event

if TYPE_CHECKING:
    from django_jobs.worker.supervisor import Child

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


class Tree(Protocol):
    children: list[Child]


class Status:
    """The jobs the worker's processes ran and failed, the ended ones' included (read from
    their slots), and what is shown of them."""

    def __init__(self, tree: Tree, worker_id: str) -> None:
        self.tree, self.worker_id = tree, worker_id
        self.started = time.monotonic()
        self.finished_processed = 0
        self.finished_failed = 0
        self.progress: ProgressBar | None = None
        self.next_summary = self.started + SUMMARY_INTERVAL

    def retired(self, child: Child) -> None:
        """A process ended: keep its counts."""
        processed, failed = child.slot.counts()
        self.finished_processed += processed
        self.finished_failed += failed

    def processed(self) -> int:
        return self.finished_processed + sum(c.slot.counts()[0] for c in self.tree.children)

    def failed(self) -> int:
        return self.finished_failed + sum(c.slot.counts()[1] for c in self.tree.children)

    def show_progress(self, total: int, stream: Any) -> None:
        """From now on, draw a progress bar of ``total`` jobs on ``stream``."""
        self.progress = ProgressBar(total, stream)

    def tick(self, now: float, hard_stops: int) -> None:
        """One supervision turn: the summary line when due, the progress bar."""
        if now >= self.next_summary:
            self.summary(hard_stops)
            self.next_summary = now + SUMMARY_INTERVAL
        if self.progress is not None:
            self.progress.show(self.processed())

    def summary(self, hard_stops: int) -> None:
        """The periodic one-line summary: jobs run and failed so far, processes stopped hard,
        processes alive."""
        elapsed = time.monotonic() - self.started
        processed = self.processed()
        log_event(
            "worker.summary",
            worker=self.worker_id,
            processed=processed,
            failed=self.failed(),
            hard_stops=hard_stops,
            processes=len(self.tree.children),
            rate=processed / elapsed if elapsed else 0.0,
        )

    def close(self) -> None:
        """The worker ends: the progress bar's last state, and its line ended."""
        if self.progress is not None:
            self.progress.show(self.processed())
            self.progress.close()
