"""What ``--burst`` reports: the jobs it left, and the progress bar's total.

A burst worker runs what it can claim, then exits: jobs that a pause or a limit holds back
do not keep it alive. Its report counts the jobs still ``queued`` in its queues by what held
them back, so a script or a cron job can tell "done" from "done, but some work waits".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from django_jobs.logs import log_event
from django_jobs.models import Job, Queue
from django_jobs.states import State
from django_jobs.worker import limits

#: Why a queued job was left, in the order the report lists them; ``other``: none of these
#: (it became ready after the worker's last claim, say).
REASONS = ("paused", "rate_limited", "group_busy", "capped", "other")


@dataclass
class Report:
    """The end of a burst: attempts run, and the jobs left ``queued`` by reason."""

    processed: int
    left: dict[str, int] = field(default_factory=dict)

    @property
    def total_left(self) -> int:
        return sum(self.left.values())

    def describe(self) -> str:
        """``burst done: 12 jobs run, 5 left queued (paused: 3, rate limited: 2)``"""
        jobs = "job" if self.processed == 1 else "jobs"
        text = f"burst done: {self.processed} {jobs} run, {self.total_left} left queued"
        reasons = [f"{r.replace('_', ' ')}: {self.left[r]}" for r in REASONS if self.left.get(r)]
        return text + (f" ({', '.join(reasons)})" if reasons else "")


def count_left(queues: list[str] | None, alias: str) -> dict[str, int]:
    """The ``queued`` jobs of ``queues`` (``None``: every queue), counted by what holds them
    back: a paused queue, a queue's rate limit, a group key held by a running job, a queue's
    or definition's concurrency cap; ``other`` for the rest. A job counts once, under the
    first reason in ``REASONS`` that applies."""
    queued = Job.objects.using(alias).filter(state=State.QUEUED)
    if queues is not None:
        queued = queued.filter(queue__in=queues)
    per_queue = dict(queued.values("queue").annotate(n=Count("pk")).values_list("queue", "n"))
    left = dict.fromkeys(REASONS, 0)
    open_queues, capped_queues = [], []
    rows = Queue.objects.using(alias).filter(name__in=list(per_queue))
    for name, paused, cap, rate, period in rows.values_list(
        "name", "paused", "max_concurrent", "rate_numerator", "rate_period"
    ):
        if paused:
            left["paused"] += per_queue[name]
        elif rate is not None and period:
            left["rate_limited"] += per_queue[name]
        else:
            open_queues.append(name)
            if cap is not None:
                capped_queues.append(name)
    rest = queued.filter(queue__in=open_queues)
    held = Job.objects.using(alias).filter(state=State.RUNNING, group_key__isnull=False)
    busy = Q(group_key__in=held.values("group_key"))
    left["group_busy"] = rest.filter(busy).count()
    capped_names = limits.definition_caps()[0]
    capped = Q(queue__in=capped_queues) | Q(name__in=capped_names)
    if capped_queues or capped_names:
        left["capped"] = rest.exclude(busy).filter(capped).count()
    left["other"] = sum(per_queue.values()) - sum(left.values())
    return left


def ready_count(queues: list[str] | None, alias: str) -> int:
    """The progress bar's total (``worker.status``): ``queued`` jobs of ``queues``, those of
    paused queues left out (a burst does not wait for them)."""
    ready = Job.objects.using(alias).filter(state=State.QUEUED)
    if queues:
        ready = ready.filter(queue__in=queues)
    paused = Queue.objects.using(alias).filter(paused=True).values("name")
    return ready.exclude(queue__in=paused).count()


def report(worker_id: str, queues: list[str] | None, alias: str, processed: int) -> Report:
    """The end of a burst: count what is left in ``queues`` and log ``worker.burst_done``."""
    result = Report(processed, count_left(queues, alias))
    reasons: dict[str, Any] = {reason: n or None for reason, n in result.left.items()}
    left = result.total_left
    log_event("worker.burst_done", worker=worker_id, processed=processed, left=left, **reasons)
    return result
