"""A worker process's claim: ready jobs of its queues, within the limits in play."""

from __future__ import annotations

from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from django_jobs import db
from django_jobs.models import Job
from django_jobs.worker import limits


def claim_ready(
    config: limits.LimitConfig,
    session: Any,
    queues: list[str] | None,
    limit: int,
    worker_id: str,
    *,
    stale_ok: bool = False,
) -> list[Job]:
    """Claim up to ``limit`` ready jobs of ``queues`` (``None``: every queue) for
    ``worker_id``. Without limits in play: one statement, on the process's own ``session``
    when it has one. With limits: one job at a time, under the claim lock, rate tokens taken
    and spent in the same transaction. ``stale_ok``: see ``LimitConfig.refresh``."""
    alias = config.alias
    config.refresh(stale_ok=stale_ok)
    connection = connections[alias]
    engine = db.for_connection(connection)
    now = timezone.now()
    if not config.limited:
        return engine.claim_jobs(
            session or connection,
            queues=queues,
            limit=limit,
            worker=worker_id,
            now=now,
            limits=config.limits(set()),
        )
    rated = config.rated if queues is None else config.rated & set(queues)
    with transaction.atomic(using=alias):
        engine.lock_claims(connection)
        empty = limits.take_rate_tokens(rated, now, alias) if rated else set()
        jobs = engine.claim_jobs(
            connection,
            queues=queues,
            limit=1,
            worker=worker_id,
            now=now,
            limits=config.limits(empty),
        )
        limits.spend_rate_tokens(jobs, rated, alias)
    return jobs
