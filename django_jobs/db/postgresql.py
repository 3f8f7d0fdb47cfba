"""PostgreSQL: one-statement insert with its NOTIFY, once per queue per transaction."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from django_jobs.conf import jobs_settings
from django_jobs.db import InsertShape, in_claim_order, split_columns
from django_jobs.models import Job, Queue
from django_jobs.states import State
from django_jobs.worker.limits import Limits

# (field name, SQL type): the columns an enqueue writes; every other column takes its NULL.
_INSERT_COLUMNS = (
    ("id", "uuid"),
    ("name", "text"),
    ("version", "int"),
    ("queue", "text"),
    ("state", "text"),
    ("priority", "int"),
    ("args", "jsonb"),
    ("kwargs", "jsonb"),
    ("meta", "jsonb"),
    ("key", "text"),
    ("group_key", "text"),
    ("run_at", "timestamptz"),
    ("created_at", "timestamptz"),
    ("attempts", "int"),
    ("max_attempts", "int"),
    ("last_error", "text"),
    ("scheduled_for", "timestamptz"),
    ("resubmitted_from", "uuid"),
)
INSERT_FIELDS = tuple(name for name, _ in _INSERT_COLUMNS)
_TYPES = dict(_INSERT_COLUMNS)


@lru_cache(maxsize=64)
def _insert_sql(shape: InsertShape, returning: bool, notify: bool) -> str:
    """The INSERT for rows of ``shape``, with its NOTIFY folded in when ``notify``.

    Shared values are parameters (or NULL literals), per-row values come from one JSON
    array of rows: one statement and a fixed number of parameters whatever the batch size,
    and, per shape, always the same text (so a driver that prepares statements can).
    With ``notify``, the statement also runs ``pg_notify`` for each queue given in its
    last parameter (the channel is the one before): the notification leaves at COMMIT (of
    this statement in autocommit, else of the caller's transaction) and is dropped on
    rollback, like NOTIFY. When a conflict may skip rows (``returning``), only the given
    queues that got a queued row are notified, and the statement returns them.
    """
    table = Job._meta.db_table
    columns = ", ".join(Job._meta.get_field(name).column for name in INSERT_FIELDS)
    values = []
    for name in INSERT_FIELDS:
        kind = _TYPES[name]
        if name in shape.varying:
            i = shape.varying.index(name)
            values.append(f"(r.e->{i})::jsonb" if kind == "jsonb" else f"(r.e->>{i})::{kind}")
        else:
            values.append("NULL" if name in shape.nulls else f"%s::{kind}")
    source = " FROM json_array_elements(%s::json) AS r(e)" if shape.varying else ""
    sql = f'INSERT INTO "{table}" ({columns}) SELECT {", ".join(values)}{source}'
    if returning:  # no conflict target: DO NOTHING also covers the partial unique index on keys
        sql += " ON CONFLICT DO NOTHING"
    if not notify:
        return sql + " RETURNING id" if returning else sql
    if not returning:  # every row is written: notify the given queues, as a raw enqueue does
        return f"WITH j AS ({sql}) SELECT pg_notify(%s, q) FROM unnest(%s::text[]) AS q"
    return (
        f"WITH j AS ({sql} RETURNING id, queue, state) SELECT j.id, NULL::text FROM j "
        "UNION ALL SELECT NULL::uuid, w.queue FROM (SELECT DISTINCT j.queue FROM j"
        " WHERE j.state = 'queued' AND j.queue = ANY(%s::text[])) AS w,"
        " pg_notify(%s, w.queue)"
    )


def insert_jobs(
    connection: BaseDatabaseWrapper, jobs: Sequence[Job], *, ignore_conflicts: bool
) -> set[uuid.UUID]:
    """Insert every row with ONE statement, which also NOTIFYs the queues that need it.

    Returns the ids actually inserted (with ``ignore_conflicts`` a key conflict skips a
    row). Inside ``atomic()`` a queue is notified once per transaction (see ``notify``).
    """
    shape, shared = split_columns(jobs, INSERT_FIELDS)
    params: list[Any] = [
        json.dumps(value) if _TYPES[name] == "jsonb" else value
        for name, value in shared.items()
        if name not in shape.nulls
    ]
    if shape.varying:
        params.append(json.dumps([_json_row(job, shape.varying) for job in jobs]))
    queued = [job.queue for job in jobs if job.state == State.QUEUED]
    pending = _unsent(connection, queued) if queued else []
    if pending:
        channel = jobs_settings.NOTIFY_CHANNEL
        params += [pending, channel] if ignore_conflicts else [channel, pending]
    with statement_cursor(connection) as cursor:
        cursor.execute(_insert_sql(shape, ignore_conflicts, bool(pending)), params)
        rows = cursor.fetchall() if ignore_conflicts else []
    if not ignore_conflicts:
        _mark_sent(connection, pending)
        return {job.id for job in jobs}
    if pending:  # rows are (id, NULL) per inserted row and (NULL, queue) per notified queue
        _mark_sent(connection, [row[1] for row in rows if row[0] is None])
    return {row[0] for row in rows if row[0] is not None}


def statement_cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor for a hot statement of ours: prepared when the project allows it.

    Django's default psycopg cursor binds parameters on the client, so the server parses
    and plans every execution. When the project turned psycopg's prepared statements on
    (``OPTIONS["prepare_threshold"]``, off by default in Django so that connection poolers
    in transaction mode keep working), the statement runs on a server-binding cursor and
    psycopg prepares it after that many executions. Either way Django's cursor wrapper is
    kept: query logging, ``execute_wrapper`` hooks and error translation still apply.
    """
    cursor = connection.cursor()  # connects, checks health and thread sharing
    raw = connection.connection
    if getattr(raw, "prepare_threshold", None) is None:  # Django's default; also psycopg2
        return cursor
    import psycopg

    cursor.close()
    server_binding = psycopg.Cursor(raw)
    if connection.queries_logged:
        return connection.make_debug_cursor(server_binding)
    return connection.make_cursor(server_binding)


def _json_row(job: Job, fields: tuple[str, ...]) -> list[Any]:
    """The per-row values of ``job`` as JSON values (ids and times as text)."""
    row = []
    for name in fields:
        value = getattr(job, name)
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        row.append(value)
    return row


def notify(connection: BaseDatabaseWrapper, queues: Sequence[str]) -> None:
    """``NOTIFY`` each queue once per transaction, from the enqueue itself (never a trigger).

    Inside ``atomic()`` the notification is delivered at COMMIT and dropped on rollback, so
    no worker wakes for a job it cannot see. An enqueue sends its NOTIFY within its INSERT
    (``insert_jobs``); this is for other writers that make jobs ready.
    """
    pending = _unsent(connection, queues)
    if pending:
        channel = jobs_settings.NOTIFY_CHANNEL
        with connection.cursor() as cursor:
            for queue in pending:
                cursor.execute("SELECT pg_notify(%s, %s)", [channel, queue])
        _mark_sent(connection, pending)


def _unsent(connection: BaseDatabaseWrapper, queues: Sequence[str]) -> list[str]:
    """The distinct ``queues`` not yet notified in this transaction (all in autocommit)."""
    if not jobs_settings.USE_LISTEN_NOTIFY:
        return []
    distinct = list(dict.fromkeys(queues))
    if not connection.in_atomic_block:
        return distinct
    sent = _sent_in_transaction(connection)
    return [queue for queue in distinct if queue not in sent]


def _mark_sent(connection: BaseDatabaseWrapper, queues: Sequence[str]) -> None:
    if connection.in_atomic_block:
        _sent_in_transaction(connection).update(queues)


def _sent_in_transaction(connection: BaseDatabaseWrapper) -> set[str]:
    """The queues notified in the current transaction.

    They are kept next to an on_commit marker: when the marker is gone from the
    connection's on_commit list, the transaction (or the savepoint that sent them) has
    ended, and the memory is stale.
    """
    sent, marker = getattr(connection, "_django_jobs_notified", (None, None))
    if sent is None or not any(item[1] is marker for item in connection.run_on_commit):
        sent = set()

        def marker() -> None:
            connection._django_jobs_notified = (None, None)  # type: ignore[attr-defined]

        transaction.on_commit(marker, using=connection.alias)
        connection._django_jobs_notified = (sent, marker)  # type: ignore[attr-defined]
    return sent


# The claim, in ONE statement and therefore one short transaction:
# * the CTE picks the candidates in claim order from the partial index dj_job_claim and locks
#   them with FOR UPDATE SKIP LOCKED, so concurrent workers step over each other's rows
#   instead of waiting, and the LIMIT bounds how many rows the statement can touch;
# * the UPDATE joins on the locked ids only (the planner cannot widen it), writing the state,
#   the worker, a fresh claim token per job (for fencing), the start time and the attempt.
_CLAIM_SQL = """
WITH RECURSIVE {served}, candidates AS (
    SELECT picked.id FROM served
    CROSS JOIN LATERAL (
        SELECT c.id, c.priority, c.run_at FROM {table} AS c
        WHERE c.state = 'queued' AND c.queue = served.name
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
SET state = 'running', worker = %(worker)s, claim_token = gen_random_uuid(),
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
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, params, binary=True)
        jobs = [job_from_row(connection, row) for row in cursor.fetchall()]
    return in_claim_order(jobs)


@contextmanager
def bound_cursor(connection: BaseDatabaseWrapper) -> Iterator[Any]:
    """A psycopg cursor that sends parameters separately from the statement (server-side
    binding, binary where it can), so arrays are not spelled out as SQL text; errors become
    Django's, as on Django's own cursors. With a ``WorkerSession``, its own connection."""
    if isinstance(connection, WorkerSession):
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


class WorkerSession:
    """A worker process's own connection for its hot statements: the claim and the batched
    completion. They are prepared once and run with generic plans (``plan_cache_mode``),
    so each call skips the planner, which costs more than running them (about 1.5 ms of
    a 2.4 ms claim). Nothing else runs on this connection: the jobs' own queries, and the
    session settings they may rely on, stay on Django's connection.

    Pass it where a connection is expected (``claim_jobs``, ``record_successes``). Off with
    ``DJANGO_JOBS_PREPARED_STATEMENTS = False`` (for PgBouncer in transaction mode before
    1.21, which cannot keep prepared statements).
    """

    vendor = "postgresql"

    def __init__(self, alias: str) -> None:
        from django.db import connections

        self.alias = alias
        self.django = connections[alias]
        self.connection: Any = None

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        import psycopg

        with self.django.wrap_database_errors:
            try:
                if self.connection is None or self.connection.closed:
                    self.connection = self._connect()
                with psycopg.Cursor(self.connection) as cursor:
                    yield cursor
            except psycopg.OperationalError:
                self.close()  # made again on the next call
                raise

    def _connect(self) -> Any:
        import psycopg

        params = self.django.get_connection_params()
        params.pop("cursor_factory", None)
        params["prepare_threshold"] = 0  # prepare on first use
        connection = psycopg.connect(**params, autocommit=True)
        # Generic plans, and no JIT: compiling a plan costs far more than running it.
        connection.execute("SET plan_cache_mode = force_generic_plan")
        connection.execute("SET jit = off")
        if self.django.timezone_name:
            connection.execute(
                "SELECT set_config('TimeZone', %s, false)", [self.django.timezone_name]
            )
        return connection

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()
            self.connection = None


def job_from_row(connection: BaseDatabaseWrapper, row: Sequence[Any]) -> Job:
    """A Job from a binary row of the claim's ``RETURNING`` (the model's columns, in field
    order): psycopg's binary loaders decode JSON and timestamps (aware, in the connection's
    time zone, which Django sets to UTC with USE_TZ; naive local time without it)."""
    names = _job_attnames()
    if not settings.USE_TZ:
        row = [v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row]
    return Job.from_db(connection.alias, names, row)


@lru_cache(maxsize=1)
def _job_attnames() -> list[str]:
    return [f.attname for f in Job._meta.concrete_fields]


# Successes, the hot path of completion, in ONE statement however many: the UPDATE is fenced
# by each job's claim token, and an attempt row is inserted for each row the UPDATE matched
# (from its RETURNING).
_SUCCESS_SQL = """
WITH input AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb)
        AS t(id uuid, token uuid, result jsonb, started timestamptz, finished timestamptz,
             expires timestamptz)
), done AS (
    UPDATE {table} AS j
    SET state = 'succeeded', result = input.result, started_at = input.started,
        finished_at = input.finished, expires_at = input.expires, last_error = '',
        claim_token = NULL, lease_expires_at = NULL, cancel_requested_at = NULL
    FROM input
    WHERE j.id = input.id AND j.state = 'running' AND j.claim_token = input.token
    RETURNING j.id, j.attempts, input.started, input.finished
)
INSERT INTO {attempts} (job_id, number, worker, started_at, finished_at, outcome,
                        error_type, error_message, traceback)
SELECT id, attempts, %(worker)s, started, finished, 'succeeded', '', '', '' FROM done
RETURNING job_id
"""


def record_successes(
    connection: BaseDatabaseWrapper, rows: Sequence[tuple[Job, dict]], worker: str
) -> set[uuid.UUID]:
    """Record successes (each ``(job, fields)`` from ``record.next_state``); return the ids
    written. A job whose row no longer carries its claim token is left out."""
    from django_jobs.models import JobAttempt

    sql = _SUCCESS_SQL.format(
        table=f'"{Job._meta.db_table}"', attempts=f'"{JobAttempt._meta.db_table}"'
    )
    # The rows travel as one JSON parameter: cheaper to build and to send than six arrays.
    # A None result is stored as SQL NULL (JSON null in a recordset is NULL), as the ORM does.
    batch = [
        {
            "id": str(job.pk),
            "token": str(job.claim_token),
            "result": f["result"],
            "started": f["started_at"].isoformat(),
            "finished": f["finished_at"].isoformat(),
            "expires": None if f["expires_at"] is None else f["expires_at"].isoformat(),
        }
        for job, f in rows
    ]
    params = {"rows": json.dumps(batch), "worker": worker}
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}
