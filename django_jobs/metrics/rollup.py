"""The attempt totals behind ``django_jobs_attempts_total``: counted once, never recounted.

A scrape adds the attempts inserted since the watermark to ``AttemptCount`` and moves the
watermark, in a few statements however long the attempts table:

* Attempts are inserted when they finish, so their ids follow ``finished_at``, up to commit
  order. Only attempts *settled* for ``LAG`` (the newest one that finished before
  ``now - LAG`` bounds the range, found by a backward walk of the primary key) are counted,
  so an attempt whose transaction commits a little late is not skipped.
* The range is a primary-key range of at most ``BATCH`` attempts: after a long pause
  without scrapes, the totals catch up over several scrapes instead of one slow one.
* The first scrape only sets the watermark: the totals count from then on (a Prometheus
  counter needs increases, not history), so a big existing table costs nothing.
* The watermark moves with a compare-and-set UPDATE in the transaction that adds to the
  totals: of two concurrent scrapes, one counts and the other finds it moved and adds
  nothing. Contention (``OperationalError``, e.g. SQLite's "database is locked") skips the
  rollup for that scrape; the next one catches up.

Attempts deleted before they are counted (pruned jobs, when no scrape happened for the
whole result TTL) are never counted. The worker never writes these tables.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.db import OperationalError, connections, transaction
from django.db.models import Count

from django_jobs.models import AttemptCount, AttemptCountWatermark, JobAttempt

logger = logging.getLogger("django_jobs")

#: How long after it finished an attempt is counted (covers commit order and batching).
LAG = timedelta(minutes=1)
#: Attempt ids counted at most per scrape.
BATCH = 50_000

Key = tuple[str, str, str]


def totals(alias: str, now: datetime) -> list[AttemptCount]:
    """Every ``AttemptCount`` row, after adding the attempts settled since the last scrape."""
    try:
        rows = roll_up(alias, now)
    except OperationalError as exc:
        logger.info("metrics rollup skipped: %s", exc, extra={"event": "metrics.rollup_skipped"})
        rows = None
    if rows is None:
        rows = list(AttemptCount.objects.using(alias).order_by("queue", "name", "outcome"))
    return rows


def roll_up(alias: str, now: datetime) -> list[AttemptCount] | None:
    """Add the settled attempts above the watermark; the rows, or ``None`` if nothing moved."""
    watermarks = AttemptCountWatermark.objects.using(alias)
    watermark = watermarks.filter(pk=1).values_list("attempt_id", flat=True).first()
    settled = settled_attempt_id(alias, now - LAG)
    if watermark is None:
        watermarks.get_or_create(pk=1, defaults={"attempt_id": settled, "updated_at": now})
        return None
    upper = settled if settled - watermark <= BATCH else batch_end(alias, watermark, settled)
    if upper <= watermark:
        return None
    added = new_attempts(alias, watermark, upper)
    with transaction.atomic(using=alias):
        relax_commit(alias)
        moved = watermarks.filter(pk=1, attempt_id=watermark).update(
            attempt_id=upper, updated_at=now
        )
        if not moved:
            return None
        return add(alias, added)


def relax_commit(alias: str) -> None:
    """PostgreSQL: this transaction's commit does not wait for the WAL flush.

    A crash may lose the transaction, but whole (watermark and totals together), so the next
    scrape counts the same attempts again: nothing is counted twice or skipped, and the
    scrape saves a disk flush.
    """
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def settled_attempt_id(alias: str, before: datetime) -> int:
    """The id of the newest attempt that finished before ``before`` (0: none).

    ``ORDER BY id DESC LIMIT 1``: a backward walk of the primary key that reads only the
    attempts newer than ``before`` (the dashboard's trick, ``admin.stats.attempt_id_floor``).
    """
    newest = (
        JobAttempt.objects.using(alias)
        .filter(finished_at__lt=before)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return newest or 0


def batch_end(alias: str, after: int, settled: int) -> int:
    """The id of the ``BATCH``-th attempt above ``after`` (ids have gaps), at most ``settled``.

    Only asked when more than ``BATCH`` ids are waiting: a walk of ``BATCH`` primary-key
    entries.
    """
    ids = JobAttempt.objects.using(alias).filter(pk__gt=after, pk__lte=settled).order_by("pk")
    end = ids.values_list("pk", flat=True)[BATCH - 1 : BATCH].first()
    return settled if end is None else end


def new_attempts(alias: str, after: int, upper: int) -> Counter[Key]:
    """Attempts with ``after < id <= upper`` per (queue, definition, outcome)."""
    rows = (
        JobAttempt.objects.using(alias)
        .filter(pk__gt=after, pk__lte=upper)
        .values_list("job__queue", "job__name", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return Counter({(queue, name, outcome): n for queue, name, outcome, n in rows})


def add(alias: str, added: Counter[Key]) -> list[AttemptCount]:
    """Add ``added`` to the totals (inside the rollup's transaction); every row, sorted."""
    rows = list(AttemptCount.objects.using(alias).order_by())
    known = {(row.queue, row.name, row.outcome): row for row in rows}
    changed, created = [], []
    for key, n in added.items():
        row = known.get(key)
        if row is None:
            queue, name, outcome = key
            created.append(AttemptCount(queue=queue, name=name, outcome=outcome, total=n))
        else:
            row.total += n
            changed.append(row)
    if changed:
        AttemptCount.objects.using(alias).bulk_update(changed, ["total"])
    if created:
        AttemptCount.objects.using(alias).bulk_create(created)
    return sorted([*rows, *created], key=lambda row: (row.queue, row.name, row.outcome))
