"""PostgreSQL worker connection: server-bound cursors, the worker's own session, and the
batched completion of attempts."""

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

from django_jobs.db.engine import Ending
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

    Pass it where a connection is expected (``claim_jobs``, ``record_ends``). Off with
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


# The ends of attempts, the hot path of completion, in ONE statement however many and of
# whatever kind: successes, retries, failures, cancels. The UPDATE is fenced by each job's claim
# token, and an attempt row is inserted for each row it matched (from its RETURNING). Each row
# writes the columns its ending sets and keeps the others (``_end_row`` says which); the
# states are those of the ending transitions (any other would be NULL, which the column
# refuses). The check is in the SET, not the WHERE: a filter on the input makes the planner
# expect a few rows of it and loop over the whole input once per job.
_ENDS_SQL = """
WITH input AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb)
        AS t(id uuid, token uuid, state text, started timestamptz, ended timestamptz,
             error text, writes_result boolean, result jsonb, finished timestamptz,
             expires timestamptz, run_at timestamptz, max_attempts integer, outcome text,
             error_type text, message text, traceback text)
), done AS (
    UPDATE {table} AS j
    SET state = CASE WHEN input.state IN ({targets}) THEN input.state END,
        started_at = input.started, last_error = COALESCE(input.error, ''),
        result = CASE WHEN input.writes_result THEN input.result ELSE j.result END,
        finished_at = COALESCE(input.finished, j.finished_at),
        expires_at = CASE WHEN input.finished IS NULL THEN j.expires_at ELSE input.expires END,
        run_at = COALESCE(input.run_at, j.run_at),
        worker = CASE WHEN input.run_at IS NULL THEN j.worker END,
        max_attempts = COALESCE(input.max_attempts, j.max_attempts),
        claim_token = NULL, lease_expires_at = NULL, cancel_requested_at = NULL
    FROM input
    WHERE j.id = input.id AND j.state = '{running}' AND j.claim_token = input.token
    RETURNING j.id, j.attempts, input.started, COALESCE(input.ended, input.finished) AS ended,
        COALESCE(input.outcome, input.state) AS outcome, input.error_type, input.message,
        input.traceback
)
INSERT INTO {attempts} (job_id, number, worker, started_at, finished_at, outcome,
                        error_type, error_message, traceback)
SELECT id, attempts, %(worker)s, started, ended, outcome, COALESCE(error_type, ''),
    COALESCE(message, ''), COALESCE(traceback, '') FROM done
RETURNING job_id
"""


@lru_cache(maxsize=1)
def ends_sql() -> str:
    """The statement that records a batch of attempts' ends (``record_ends``)."""
    from django_jobs.models import JobAttempt

    endings = transitions.ENDINGS
    (running,) = {ending.source for ending in endings}
    return _ENDS_SQL.format(
        table=f'"{Job._meta.db_table}"',
        attempts=f'"{JobAttempt._meta.db_table}"',
        running=running,
        targets=", ".join(f"'{ending.target}'" for ending in endings),
    )


#: The columns every end writes (the claim's three are cleared by the statement itself).
_ALWAYS = frozenset(
    {"state", "started_at", "last_error", "claim_token", "lease_expires_at", "cancel_requested_at"}
)
#: The columns some ends write, in the pairs that go together: a final state's
#: ``finished_at`` and ``expires_at``, a job back in the queue's ``run_at`` and ``worker``.
_SOMETIMES = frozenset({"result", "finished_at", "expires_at", "run_at", "worker", "max_attempts"})
_KNOWN = _ALWAYS | _SOMETIMES
#: The states an attempt's end moves a job to.
_TARGETS = frozenset(ending.target for ending in transitions.ENDINGS)


def _end_row(end: Ending) -> dict[str, Any]:
    """One row of the statement's input: the job's columns, and its attempt row."""
    f = end.fields
    if not f.keys() <= _KNOWN or ("finished_at" in f) != ("expires_at" in f):
        raise ValueError(f"not an end the batched statement writes: {sorted(f)}")
    if ("run_at" in f) != ("worker" in f) or f.get("worker") is not None:
        raise ValueError(f"not an end the batched statement writes: {sorted(f)}")
    if f["state"] not in _TARGETS:
        raise ValueError(f"not a state an attempt ends in: {f['state']!r}")
    # What the statement can tell by itself is left out (most ends are successes): an
    # outcome named as the state, an empty error, an end at the job's ``finished_at``.
    state, ended = f["state"], end.ended.isoformat()
    row = {
        "id": str(end.job.pk),
        "token": str(end.job.claim_token),
        "state": state,
        "started": f["started_at"].isoformat(),
    }
    if end.outcome != state:
        row["outcome"] = end.outcome
    if f["last_error"]:
        row["error"] = f["last_error"]
    if "result" in f:
        # A None result is stored as SQL NULL (JSON null in a recordset is NULL), as the
        # ORM does.
        row["writes_result"], row["result"] = True, f["result"]
    if "finished_at" in f:
        expires, finished = f["expires_at"], f["finished_at"]
        row["finished"] = ended if finished == end.ended else finished.isoformat()
        row["expires"] = None if expires is None else expires.isoformat()
        if finished != end.ended:
            row["ended"] = ended
    else:
        row["ended"] = ended
    if "run_at" in f:
        row["run_at"] = f["run_at"].isoformat()
    if "max_attempts" in f:
        row["max_attempts"] = f["max_attempts"]
    if end.error_type or end.message or end.traceback:
        row["error_type"], row["message"] = end.error_type, end.message
        row["traceback"] = end.traceback
    return row


def record_ends(
    connection: BaseDatabaseWrapper, ends: Sequence[Ending], worker: str
) -> set[uuid.UUID]:
    """Record the ends of attempts in one statement; return the ids written. A job whose
    row no longer carries its claim token is left out."""
    # The rows travel as one JSON parameter: cheaper to build and to send than arrays.
    params = {"rows": json.dumps([_end_row(end) for end in ends]), "worker": worker}
    with bound_cursor(connection) as cursor:
        cursor.execute(ends_sql(), params)
        return {row[0] for row in cursor.fetchall()}
