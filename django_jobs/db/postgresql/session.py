"""PostgreSQL worker connection: server-bound cursors, the worker's own session, and the
batched completion of successes."""

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
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from django_jobs.models import Job, transitions


@contextmanager
def bound_cursor(connection: BaseDatabaseWrapper, *, claimed_rows: bool = False) -> Iterator[Any]:
    """A psycopg cursor that sends parameters separately from the statement (server-side
    binding, binary where it can), so arrays are not spelled out as SQL text; errors become
    Django's, as on Django's own cursors. With a ``WorkerSession``, its own connection.
    ``claimed_rows``: the statement returns Job rows (``_jsonb_loader``; a session has it)."""
    if isinstance(connection, WorkerSession):
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        if claimed_rows:
            cursor.adapters.register_loader("jsonb", _jsonb_loader())
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
        connection.adapters.register_loader("jsonb", _jsonb_loader())
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


@lru_cache(maxsize=1)
def _jsonb_loader() -> type:
    """psycopg's binary ``jsonb`` loader, with the empty list and object (the arguments of
    most jobs) made without the JSON decoder, and text decoded without the encoding probe
    ``json.loads`` runs on bytes: three documents per claimed row."""
    from psycopg.types.json import JsonbBinaryLoader

    empty = {b"\x01[]": list, b"\x01{}": dict}
    decode = json.JSONDecoder().decode

    class Loader(JsonbBinaryLoader):
        def load(self, data: Any) -> Any:
            if not isinstance(data, bytes):
                data = bytes(data)
            make = empty.get(data)
            if make is not None:
                return make()
            if data[:1] != b"\x01":  # not version 1: psycopg's own error
                return super().load(data)
            return decode(data[1:].decode())

    return Loader


def jobs_from_rows(connection: BaseDatabaseWrapper, rows: Sequence[Sequence[Any]]) -> list[Job]:
    """Jobs from binary rows of the claim's ``RETURNING`` (the model's columns, in field
    order): psycopg's binary loaders decode JSON and timestamps (aware, in the connection's
    time zone, which Django sets to UTC with USE_TZ; naive local time without it).

    Each instance is what ``Job.from_db`` makes, filled in one step: ``Model.__init__`` sets
    the columns one ``setattr`` at a time and sends ``pre_init`` / ``post_init``, which cost
    more than the rest of a short job's way through the worker. The full path is taken
    whenever those signals have receivers for Job."""
    names, alias = _job_attnames(), connection.alias
    if not settings.USE_TZ:
        rows = [
            [v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row] for row in rows
        ]
    if pre_init.has_listeners(Job) or post_init.has_listeners(Job) or not _plain_columns():
        return [Job.from_db(alias, names, row) for row in rows]
    jobs = []
    for row in rows:
        job = Job.__new__(Job)
        job.__dict__.update(zip(names, row))
        job._state = state = ModelState()
        state.adding, state.db = False, alias
        jobs.append(job)
    return jobs


@lru_cache(maxsize=1)
def _job_attnames() -> list[str]:
    return [f.attname for f in Job._meta.concrete_fields]


@lru_cache(maxsize=1)
def _plain_columns() -> bool:
    """No column of Job is set through a descriptor (as a FileField's is): writing the
    instance's ``__dict__`` is then what ``setattr`` does."""
    return not any(hasattr(getattr(Job, name, None), "__set__") for name in _job_attnames())


# Successes, the hot path of completion, in ONE statement however many: the UPDATE is fenced
# by each job's claim token, and an attempt row is inserted for each row the UPDATE matched
# (from its RETURNING). The states are those of the ``succeed`` transition.
_SUCCESS_SQL = """
WITH input AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb)
        AS t(id uuid, token uuid, result jsonb, started timestamptz, finished timestamptz,
             expires timestamptz)
), done AS (
    UPDATE {table} AS j
    SET state = '{succeed_to}', result = input.result, started_at = input.started,
        finished_at = input.finished, expires_at = input.expires, last_error = '',
        claim_token = NULL, lease_expires_at = NULL, cancel_requested_at = NULL
    FROM input
    WHERE j.id = input.id AND j.state = '{succeed_from}' AND j.claim_token = input.token
    RETURNING j.id, j.attempts, input.started, input.finished
)
INSERT INTO {attempts} (job_id, number, worker, started_at, finished_at, outcome,
                        error_type, error_message, traceback)
SELECT id, attempts, %(worker)s, started, finished, 'succeeded', '', '', '' FROM done
RETURNING job_id
"""


@lru_cache(maxsize=1)
def success_sql() -> str:
    """The statement that records a batch of successes (``record_successes``)."""
    from django_jobs.models import JobAttempt

    return _SUCCESS_SQL.format(
        table=f'"{Job._meta.db_table}"',
        attempts=f'"{JobAttempt._meta.db_table}"',
        succeed_from=transitions.SUCCEED.source,
        succeed_to=transitions.SUCCEED.target,
    )


def record_successes(
    connection: BaseDatabaseWrapper, rows: Sequence[tuple[Job, dict]], worker: str
) -> set[uuid.UUID]:
    """Record successes (each ``(job, fields)`` from ``record.next_state``); return the ids
    written. A job whose row no longer carries its claim token is left out."""
    sql = success_sql()
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
