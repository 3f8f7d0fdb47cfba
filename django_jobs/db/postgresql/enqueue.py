"""PostgreSQL enqueue: one-statement insert with its NOTIFY (once per queue per transaction)
and, for queues the process has not seen yet, their ``Queue`` rows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery

from django_jobs.conf import jobs_settings
from django_jobs.db.notify import mark_sent, unsent
from django_jobs.db.postgresql.prepared import statement_cursor
from django_jobs.db.rows import INSERT_COLUMNS, INSERT_FIELDS, InsertShape, split_columns
from django_jobs.models import Job, Queue
from django_jobs.states import State

_TYPES = dict(INSERT_COLUMNS)


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
    connection: BaseDatabaseWrapper,
    jobs: Sequence[Job],
    *,
    ignore_conflicts: bool,
    new_queues: Sequence[str] = (),
) -> set[uuid.UUID]:
    """Insert every row with ONE statement, which also NOTIFYs the queues that need it.

    Returns the ids actually inserted (with ``ignore_conflicts`` a key conflict skips a
    row). Inside ``atomic()`` a queue is notified once per transaction (see ``notify``).
    ``new_queues`` (queues this process has not seen): the same statement creates their
    ``Queue`` rows where missing (``_with_queue_rows``).
    """
    shape, shared = split_columns(jobs, INSERT_FIELDS)
    params: list[Any] = [
        json.dumps(value) if _TYPES[name] == "jsonb" else value
        for name, value in shared.items()
        if name not in shape.nulls
    ]
    if shape.varying:
        params.append(json.dumps(_json_rows(jobs, shape.varying)))
    queued = [job.queue for job in jobs if job.state == State.QUEUED]
    pending = unsent(connection, queued) if queued else []
    if pending:
        channel = jobs_settings.NOTIFY_CHANNEL
        params += [pending, channel] if ignore_conflicts else [channel, pending]
    sql = _insert_sql(shape, ignore_conflicts, bool(pending))
    if new_queues:
        sql, params = _with_queue_rows(connection, sql, params, new_queues)
    # With new queues' rows, the statement runs once per queue and process: not worth
    # preparing.
    with connection.cursor() if new_queues else statement_cursor(connection) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall() if ignore_conflicts else []
    if not ignore_conflicts:
        mark_sent(connection, pending)
        return {job.id for job in jobs}
    if pending:  # rows are (id, NULL) per inserted row and (NULL, queue) per notified queue
        mark_sent(connection, [row[1] for row in rows if row[0] is None])
    return {row[0] for row in rows if row[0] is not None}


def _with_queue_rows(
    connection: BaseDatabaseWrapper, sql: str, params: list[Any], names: Sequence[str]
) -> tuple[str, list[Any]]:
    """``sql`` preceded by the INSERT of ``Queue`` rows for ``names``, as a CTE.

    The rows are written as ``bulk_create(ignore_conflicts=True)`` writes them (Django's
    own INSERT of every field with its default, ``ON CONFLICT DO NOTHING``), so a queue
    whose row exists keeps it, and concurrent first enqueues make one row. PostgreSQL runs
    a data-modifying CTE exactly once, whether the main statement reads it or not: the
    first enqueue to a queue is one statement, and one commit, like every other.
    """
    query = InsertQuery(Queue, on_conflict=OnConflict.IGNORE)
    fields = [
        f
        for f in Queue._meta.concrete_fields
        if not f.primary_key and not getattr(f, "generated", False)
    ]
    query.insert_values(fields, [Queue(name=name) for name in names])
    [(queue_sql, queue_params)] = query.get_compiler(connection=connection).as_sql()
    head = f"WITH dj_new_queue AS ({queue_sql})"
    sql = f"{head}, {sql[len('WITH ') :]}" if sql.startswith("WITH ") else f"{head} {sql}"
    return sql, [*queue_params, *params]


def _json_rows(jobs: Sequence[Job], fields: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """The per-row values of ``jobs`` as JSON values (ids and times as text), built column by
    column: the conversion is chosen once per column, not tested per value."""
    columns = []
    for name in fields:
        values = list(map(attrgetter(name), jobs))
        kind = _TYPES[name]
        if kind == "uuid":
            values = [v if v is None else str(v) for v in values]
        elif kind == "timestamptz":
            values = [v.isoformat() if isinstance(v, datetime) else v for v in values]
        columns.append(values)
    return list(zip(*columns))
