"""The SQLite engine (3.35 and later): one-statement bulk insert from a JSON array, the claim
in one UPDATE with every limit; workers poll (no NOTIFY). Older SQLite takes the generic
engine (``db/__init__.for_connection``).

The ORM's ``bulk_create`` splits rows into batches to stay under SQLite's bound-parameter
limit; here the whole batch travels as ONE parameter, a JSON array of rows, which
``json_each`` turns back into rows inside a single ``INSERT ... SELECT``.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from django_jobs.db.engine import Capabilities
from django_jobs.db.orm import OrmEngine
from django_jobs.db.rows import (
    INSERT_FIELDS,
    JSON_FIELDS,
    InsertShape,
    in_claim_order,
    split_columns,
)
from django_jobs.limits import Limits
from django_jobs.models import Job, Queue, transitions

# RETURNING arrived in SQLite 3.35; older libraries take the generic engine.
HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)


@lru_cache(maxsize=64)
def _insert_sql(shape: InsertShape, ignore_conflicts: bool, required_queues: int = 0) -> str:
    """Shared values as parameters (or NULL), per-row ones from one JSON array of rows.

    With ``required_queues``, the last parameters name that many queues, and the statement
    inserts nothing unless each has its ``Queue`` row (one index probe per queue, once per
    statement: the subquery does not depend on the row).
    """
    columns = [Job._meta.get_field(name).column for name in INSERT_FIELDS]
    values = []
    for name in INSERT_FIELDS:
        if name in shape.varying:
            values.append(f"json_extract(value, '$[{shape.varying.index(name)}]')")
        else:
            values.append("NULL" if name in shape.nulls else "%s")
    table = Job._meta.db_table
    source = " FROM json_each(%s)" if shape.varying else ""
    sql = f'INSERT INTO "{table}" ({", ".join(columns)}) SELECT {", ".join(values)}{source}'
    if required_queues:
        names = ", ".join(["%s"] * required_queues)
        sql += (
            f' WHERE (SELECT count(*) FROM "{Queue._meta.db_table}" WHERE name IN ({names}))'
            f" = {required_queues}"
        )
    elif ignore_conflicts:
        # "WHERE true" lets SQLite's parser tell the upsert clause from a join constraint.
        sql += " WHERE true"
    return sql + " ON CONFLICT DO NOTHING RETURNING id" if ignore_conflicts else sql


def insert_jobs(
    connection: BaseDatabaseWrapper,
    jobs: Sequence[Job],
    *,
    ignore_conflicts: bool,
    new_queues: Sequence[str] = (),
) -> set[uuid.UUID]:
    """Insert every row with ONE statement; return the ids inserted (a key conflict skips).

    ``new_queues`` (queues this process has not seen): nothing is inserted unless each has
    its ``Queue`` row (``capabilities.queue_rows`` is ``"required"``).
    """
    shape, shared = split_columns(jobs, INSERT_FIELDS)
    fields = {name: Job._meta.get_field(name) for name in INSERT_FIELDS}
    params = [
        _db_value(fields[name], value, connection)
        for name, value in shared.items()
        if name not in shape.nulls
    ]
    if shape.varying:
        varying = [fields[name] for name in shape.varying]
        rows = [
            [_db_value(f, getattr(job, f.attname), connection) for f in varying] for job in jobs
        ]
        params.append(json.dumps(rows))
    params.extend(new_queues)
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(shape, ignore_conflicts, len(new_queues)), params)
        if ignore_conflicts:
            return {uuid.UUID(str(row[0])) for row in cursor.fetchall()}
        if new_queues and cursor.rowcount == 0:  # a Queue row is missing
            return set()
    return {job.id for job in jobs}


def _db_value(field: Any, value: Any, connection: BaseDatabaseWrapper) -> Any:
    """``value`` as the ORM would store it (a JSON field as its JSON text)."""
    if field.name in JSON_FIELDS:
        return json.dumps(value)
    return field.get_db_prep_save(value, connection)


# SQLite has one writer at a time: a single UPDATE whose subquery picks the candidates in
# claim order is atomic on its own, so no two workers can claim the same row. The claim
# token is made by SQLite itself (32 hex digits, the way Django stores a UUIDField here).
#
# SQLite has no LATERAL join, so the statement walks the served queues one by one the way
# PostgreSQL's does: one subquery per queue, joined with UNION ALL. Each reads dj_job_claim
# for its queue in claim order and stops at the LIMIT; the outer ORDER BY sorts at most
# (queues x limit) rows. A single scan over several queues would read and sort every ready
# row instead. The queue's own conditions (paused, max_concurrent) name the queue as a
# parameter, not the row's column, so SQLite evaluates them once per queue, not per row.
_CLAIM_SQL = """
UPDATE {table}
SET state = '{claim_to}', worker = %(worker)s, claim_token = lower(hex(randomblob(16))),
    started_at = %(now)s, heartbeat_at = %(now)s, attempts = attempts + 1,
    lease_expires_at = NULL, cancel_requested_at = NULL
WHERE id IN (
    SELECT id FROM ({walks})
    ORDER BY priority DESC, run_at, id
    LIMIT %(limit)s
)
RETURNING *
"""

# One queue's walk. ORDER BY and LIMIT are not allowed on a member of a compound SELECT,
# hence the wrapping subquery.
_WALK_SQL = """
    SELECT * FROM (
        SELECT c.id, c.priority, c.run_at FROM {table} AS c
        WHERE c.state = '{claim_from}' AND c.queue = %({queue})s
          AND NOT EXISTS (
              SELECT 1 FROM {queue_table} AS q
              WHERE q.name = %({queue})s AND (q.paused OR (q.max_concurrent IS NOT NULL AND (
                  SELECT count(*) FROM {table} AS r
                  WHERE r.state = 'running' AND r.queue = q.name AND r.worker LIKE %(tree)s
              ) >= q.max_concurrent))
          ) {limits}
        ORDER BY c.priority DESC, c.run_at, c.id
        LIMIT %(limit)s
    )"""

#: SQLite refuses a compound SELECT of more than 500 members (SQLITE_MAX_COMPOUND_SELECT):
#: beyond this many queues, the walks are grouped in nested subqueries.
_WALKS_PER_COMPOUND = 100

_LIMITS_SQL = """
          AND (c.group_key IS NULL OR NOT EXISTS (
              SELECT 1 FROM {table} AS r
              WHERE r.state = 'running' AND r.group_key = c.group_key))
          AND NOT EXISTS (
              SELECT 1 FROM json_each(%(caps)s) AS cap
              WHERE json_extract(cap.value, '$[0]') = c.name AND (
                  (json_extract(cap.value, '$[1]') IS NOT NULL AND (
                      SELECT count(*) FROM {table} AS r
                      WHERE r.state = 'running' AND r.name = c.name
                  ) >= json_extract(cap.value, '$[1]'))
                  OR (json_extract(cap.value, '$[2]') IS NOT NULL AND (
                      SELECT count(*) FROM {table} AS r
                      WHERE r.state = 'running' AND r.name = c.name AND r.worker LIKE %(tree)s
                  ) >= json_extract(cap.value, '$[2]'))))"""

# The distinct queues that have ready jobs, by a "loose index scan" of dj_job_claim (its
# leading column is the queue): one index probe per queue, however many rows are ready.
_READY_QUEUES_SQL = """
WITH RECURSIVE ready(queue) AS (
    SELECT (SELECT queue FROM {table} WHERE state = 'queued' ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT (SELECT j.queue FROM {table} AS j
            WHERE j.state = 'queued' AND j.queue > ready.queue ORDER BY j.queue LIMIT 1)
    FROM ready WHERE ready.queue IS NOT NULL
)
SELECT queue FROM ready WHERE queue IS NOT NULL
"""


def ready_queues(connection: BaseDatabaseWrapper) -> list[str]:
    """Every queue with ready jobs (with or without a Queue row)."""
    with connection.cursor() as cursor:
        cursor.execute(_READY_QUEUES_SQL.format(table=f'"{Job._meta.db_table}"'))
        return [row[0] for row in cursor.fetchall()]


@lru_cache(maxsize=64)
def claim_sql(queues: int, *, enforce: bool = True) -> str:
    """The claim statement for ``queues`` served queues, named ``%(q0)s``, ``%(q1)s``, ..."""
    table = f'"{Job._meta.db_table}"'
    limits = _LIMITS_SQL.format(table=table) if enforce else ""
    walks = [
        _WALK_SQL.format(
            table=table,
            queue_table=f'"{Queue._meta.db_table}"',
            queue=f"q{i}",
            limits=limits,
            claim_from=transitions.CLAIM.source,
        )
        for i in range(queues)
    ]
    return _CLAIM_SQL.format(table=table, walks=_union(walks), claim_to=transitions.CLAIM.target)


def _union(selects: list[str]) -> str:
    if len(selects) <= _WALKS_PER_COMPOUND:
        return "\n    UNION ALL".join(selects)
    step = _WALKS_PER_COMPOUND
    groups = [selects[i : i + step] for i in range(0, len(selects), step)]
    return _union([f"\n    SELECT * FROM ({_union(group)})" for group in groups])


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
    if queues is None:
        queues = ready_queues(connection)
    excluded = set(limits.excluded)
    served = [q for q in dict.fromkeys(queues) if q not in excluded]
    if not served or limit <= 0:
        # Nothing to walk: no statement, and above all no write lock taken by an idle poll.
        return []
    caps = list(zip(limits.cap_names, limits.cap_running, limits.cap_per_worker))
    params = {
        "worker": worker,
        "now": Job._meta.get_field("started_at").get_db_prep_save(now, connection),
        "tree": limits.tree,
        "caps": json.dumps(caps),
        "limit": limit,
    }
    params.update((f"q{i}", queue) for i, queue in enumerate(served))
    sql = claim_sql(len(served), enforce=limits.enforce)
    jobs = list(Job.objects.using(connection.alias).raw(sql, params))
    return in_claim_order(jobs)


class SQLiteEngine(OrmEngine):
    """Its own insert and claim; the ORM's batched completion (one transaction for the
    whole batch: SQLite's cost is the commit, not the statements), staging and rescue."""

    name = "sqlite"
    # A statement of SQLite writes one table, so the INSERT cannot create the ``Queue`` rows
    # of new queues: it writes only when they exist ("required"), and when they do not,
    # ``write_jobs`` creates them and inserts again, in a transaction.
    capabilities = Capabilities(
        queue_rows="required",
        queue_max_concurrent=True,
        definition_caps=True,
        group_keys=True,
    )

    insert_jobs = staticmethod(insert_jobs)
    claim_jobs = staticmethod(claim_jobs)


ENGINE = SQLiteEngine()
