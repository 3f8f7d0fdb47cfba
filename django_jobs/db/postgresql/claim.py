"""PostgreSQL claim: a LATERAL walk of each served queue, in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from django.db.backends.base.base import BaseDatabaseWrapper

from django_jobs.db.postgresql.session import bound_cursor, jobs_from_rows
from django_jobs.db.rows import in_claim_order
from django_jobs.limits import Limits
from django_jobs.models import Job, Queue, transitions

# The claim, in ONE statement and therefore one short transaction:
# * the CTE picks the candidates in claim order from the partial index dj_job_claim and locks
#   them with FOR UPDATE SKIP LOCKED, so concurrent workers step over each other's rows
#   instead of waiting, and the LIMIT bounds how many rows the statement can touch;
# * the UPDATE joins on the locked ids only (the planner cannot widen it), writing the state,
#   the worker, a fresh claim token per job (for fencing), the start time and the attempt.
# The from and to states are those of the ``claim`` transition (models/transitions.py),
# written into the text, not passed: the partial index dj_job_claim matches only a constant.
_CLAIM_SQL = """
WITH RECURSIVE {served}, candidates AS (
    SELECT picked.id FROM served
    CROSS JOIN LATERAL (
        SELECT c.id, c.priority, c.run_at FROM {table} AS c
        WHERE c.state = '{claim_from}' AND c.queue = served.name
          AND NOT COALESCE((
              SELECT q.paused OR (q.max_concurrent IS NOT NULL AND (
                  SELECT count(*) FROM {table} AS r
                  WHERE r.state = 'running' AND r.queue = q.name AND r.worker LIKE %(tree)s
              ) >= q.max_concurrent)
              FROM {queue_table} AS q WHERE q.name = c.queue
          ), false) {limits}
        ORDER BY c.priority DESC, c.run_at, c.id
        LIMIT {limit}
        FOR UPDATE SKIP LOCKED
    ) AS picked
    ORDER BY picked.priority DESC, picked.run_at, picked.id
    LIMIT {limit}
)
UPDATE {table} AS j
SET state = '{claim_to}', worker = %(worker)s, claim_token = gen_random_uuid(),
    started_at = %(now)s, heartbeat_at = %(now)s, attempts = j.attempts + 1,
    lease_expires_at = NULL, cancel_requested_at = NULL
FROM candidates
WHERE j.id = candidates.id
RETURNING {returning}
"""

# One running job per group, and the definitions' caps. Every condition here and above is
# written so that PostgreSQL keeps it as a per-row filter (a scalar subquery, or behind an
# OR) instead of turning it into an anti-join over every ready row: the scan then walks
# dj_job_claim in claim order and stops at the LIMIT.
_LIMITS_SQL = """
      AND (c.group_key IS NULL OR NOT EXISTS (
          SELECT 1 FROM {table} AS r WHERE r.state = 'running' AND r.group_key = c.group_key))
      AND (c.name <> ALL(%(cap_names)s) OR NOT EXISTS (
          SELECT 1 FROM unnest(%(cap_names)s::text[], %(cap_running)s::int[],
                               %(cap_per_worker)s::int[]) AS cap(name, running, per_worker)
          WHERE cap.name = c.name AND (
              (cap.running IS NOT NULL AND (
                  SELECT count(*) FROM {table} AS r
                  WHERE r.state = 'running' AND r.name = cap.name) >= cap.running)
              OR (cap.per_worker IS NOT NULL AND (
                  SELECT count(*) FROM {table} AS r
                  WHERE r.state = 'running' AND r.name = cap.name AND r.worker LIKE %(tree)s
              ) >= cap.per_worker))))"""


# The distinct queues that have ready jobs, by a "loose index scan" of dj_job_claim (its
# leading column is the queue): one index probe per queue, however many rows are ready.
_READY_SQL = """ready(queue) AS (
    (SELECT queue FROM {table} WHERE state = 'queued' ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT (SELECT j.queue FROM {table} AS j
            WHERE j.state = 'queued' AND j.queue > ready.queue ORDER BY j.queue LIMIT 1)
    FROM ready WHERE ready.queue IS NOT NULL
)"""

# The queues a claim walks: the worker's (fixed or its role's), or every queue with ready
# jobs; less those a limit excludes for now.
_SERVED_GIVEN = """served(name) AS (
    SELECT q FROM unnest(%(queues)s::text[]) AS q WHERE q <> ALL(%(excluded)s::text[])
)"""
_SERVED_READY = (
    _READY_SQL
    + """, served(name) AS (
    SELECT queue FROM ready WHERE queue IS NOT NULL AND queue <> ALL(%(excluded)s::text[])
)"""
)


def ready_queues(connection: BaseDatabaseWrapper) -> list[str]:
    """Every queue with ready jobs (with or without a Queue row)."""
    sql = "WITH RECURSIVE " + _READY_SQL + " SELECT queue FROM ready WHERE queue IS NOT NULL"
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=f'"{Job._meta.db_table}"'))
        return [row[0] for row in cursor.fetchall()]


@lru_cache(maxsize=512)
def claim_sql(*, enforce: bool = True, every_queue: bool = False, limit: int = 10) -> str:
    """The claim statement. It walks the served queues one by one (a LATERAL subquery per
    queue), so each walk is an index scan of dj_job_claim in claim order that stops at the
    LIMIT; a single scan over several queues would have to sort every ready row instead.
    ``every_queue``: the queues are found in the same statement (those with ready jobs).
    The LIMIT is written into the statement, not passed: a prepared statement's generic
    plan then knows how few rows it touches (with an unknown LIMIT the planner assumes a
    tenth of the table, and picks hash joins over whole-table scans)."""
    table = f'"{Job._meta.db_table}"'
    served = _SERVED_READY if every_queue else _SERVED_GIVEN
    return _CLAIM_SQL.format(
        table=table,
        claim_from=transitions.CLAIM.source,
        claim_to=transitions.CLAIM.target,
        served=served.format(table=table),
        queue_table=f'"{Queue._meta.db_table}"',
        limit=int(limit),
        limits=_LIMITS_SQL.format(table=table) if enforce else "",
        returning=", ".join(f'j."{f.column}"' for f in Job._meta.concrete_fields),
    )


def claim_jobs(
    connection: BaseDatabaseWrapper,
    *,
    queues: Sequence[str] | None,
    limit: int,
    worker: str,
    now: object,
    limits: Limits | None = None,
) -> list[Job]:
    """Claim up to ``limit`` ready jobs of ``queues`` (``None``: every queue) for ``worker``."""
    limits = limits or Limits()
    params = {
        "worker": worker,
        "now": now,
        "queues": list(dict.fromkeys(queues or [])),  # a queue listed twice is walked once
        "excluded": list(limits.excluded),
        "tree": limits.tree,
        "cap_names": limits.cap_names,
        "cap_running": limits.cap_running,
        "cap_per_worker": limits.cap_per_worker,
    }
    sql = claim_sql(enforce=limits.enforce, every_queue=queues is None, limit=limit)
    with bound_cursor(connection, claimed_rows=True) as cursor:
        cursor.execute(sql, params, binary=True)
        jobs = jobs_from_rows(connection, cursor.fetchall())
    return in_claim_order(jobs)
