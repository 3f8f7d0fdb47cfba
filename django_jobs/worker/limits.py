"""Queue and definition limits, enforced in the claim transaction (never claim-and-give-back).

* a paused queue gets no claims (checked in the claim statement itself: at once);
* ``Queue.max_concurrent``: jobs of the queue running at once in this worker (process tree);
* ``Queue`` rate limit: a token bucket in the Queue row, spent in the claim transaction, so
  it holds across the cluster;
* ``@job(max_concurrent=N)``: running at once per worker; ``@job(max_running=N)``: across the
  cluster; ``group_key``: at most one running job per group across the cluster.

The claim statement always carries the conditions. But counts in a statement cannot see
rows the same statement claims, and two workers' statements cannot see each other's
uncommitted claims. So while limited work exists (a queue with a per-worker or rate limit,
or queued / running jobs with a group or of a capped definition; re-read every 2 s), claims
take one job per statement and run under a cluster-wide lock held until the transaction
ends (the engine's ``lock_claims``: an advisory lock on PostgreSQL, a row lock on MySQL and
MariaDB; SQLite has a single writer already): each claim sees every claim before it.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.db.models import Q

from django_jobs.limits import Limits
from django_jobs.models import Job, Queue
from django_jobs.registry import registry
from django_jobs.states import State

__all__ = ["LimitConfig", "Limits", "definition_caps", "take_rate_tokens"]


class LimitConfig:
    """The limits configuration, re-read every few seconds (queues are edited in the admin)."""

    REFRESH = 2.0

    def __init__(self, tree: str, alias: str) -> None:
        self.tree, self.alias = tree, alias
        self.read_at = -1e9
        self.paused: set[str] = set()
        self.rated: set[str] = set()
        self.caps: tuple[list[str], list[int | None], list[int | None]] = ([], [], [])
        self.limited = False

    def refresh(self, *, stale_ok: bool = False) -> None:
        """Re-read the limits when ``REFRESH`` old (``stale_ok``: twice that; a pickup asked
        for by a wake-up claims first, the loop re-reads after)."""
        age = time.monotonic() - self.read_at
        if age < (2 * self.REFRESH if stale_ok else self.REFRESH):
            return
        queues = list(
            Queue.objects.using(self.alias).values_list(
                "name", "paused", "max_concurrent", "rate_numerator", "rate_period"
            )
        )
        self.paused = {name for name, paused, *_ in queues if paused}
        self.rated = {name for name, _, _, rate, period in queues if rate is not None and period}
        per_worker = any(mc is not None for _, _, mc, _, _ in queues)
        # The registry does not change while a process runs: read its caps here, not per claim.
        self.caps = definition_caps()
        capped = self.caps[0]
        self.limited = bool(per_worker or self.rated) or (
            Job.objects.using(self.alias)
            .filter(state__in=[State.QUEUED, State.RUNNING])
            .filter(Q(group_key__isnull=False) | Q(name__in=capped))
            .exists()
        )
        self.read_at = time.monotonic()

    def limits(self, excluded: set[str]) -> Limits:
        names, running, per_worker = self.caps
        return Limits(
            tree=self.tree,
            excluded=sorted(self.paused | excluded),
            cap_names=names,
            cap_running=running,
            cap_per_worker=per_worker,
        )


def definition_caps() -> tuple[list[str], list[int | None], list[int | None]]:
    """Names with ``max_running`` / ``max_concurrent``, as parallel lists (one per name)."""
    caps: dict[str, tuple[int | None, int | None]] = {}
    for definition in registry.all():
        if definition.max_running is not None or definition.max_concurrent is not None:
            caps[definition.name] = (definition.max_running, definition.max_concurrent)
    names = sorted(caps)
    return names, [caps[n][0] for n in names], [caps[n][1] for n in names]


def take_rate_tokens(queues: set[str], now: datetime, alias: str) -> set[str]:
    """Refill the token buckets of rate-limited queues (rows locked until commit); return the
    queues with no whole token left."""
    empty = set()
    for queue in Queue.objects.using(alias).select_for_update().filter(name__in=sorted(queues)):
        per_second = queue.rate_per_second
        if per_second is None:
            continue
        capacity = float(queue.rate_numerator or 1)
        elapsed = (now - queue.rate_checked_at).total_seconds() if queue.rate_checked_at else None
        allowance = (
            capacity
            if elapsed is None
            else min(capacity, queue.rate_allowance + max(0.0, elapsed) * per_second)
        )
        Queue.objects.using(alias).filter(pk=queue.pk).update(
            rate_allowance=allowance, rate_checked_at=now
        )
        if allowance < 1:
            empty.add(queue.name)
    return empty


def spend_rate_tokens(claimed: list[Job], rated: set[str], alias: str) -> None:
    from django.db.models import F

    for name in {job.queue for job in claimed} & rated:
        spent = sum(1 for job in claimed if job.queue == name)
        Queue.objects.using(alias).filter(name=name).update(
            rate_allowance=F("rate_allowance") - spent
        )
