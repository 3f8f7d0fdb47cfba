"""The PostgreSQL engine: its insert, claim and batched completion, NOTIFY and LISTEN for
wake-ups, an advisory lock for limited claims, and a worker process's own session."""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from django_jobs.conf import jobs_settings
from django_jobs.db.engine import Capabilities
from django_jobs.db.notify import notify
from django_jobs.db.orm import OrmEngine
from django_jobs.db.postgresql.claim import claim_jobs
from django_jobs.db.postgresql.enqueue import insert_jobs
from django_jobs.db.postgresql.session import WorkerSession, record_ends

#: Key of the advisory lock that serialises limited claims (any constant would do).
CLAIM_LOCK_KEY = 0x646A6F6273  # "djobs"


class NotifyListener:
    """A connection of its own in autocommit, LISTENing on ``DJANGO_JOBS_NOTIFY_CHANNEL``."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def wait(self, seconds: float) -> frozenset[str]:
        return frozenset(n.payload for n in self.connection.notifies(timeout=seconds, stop_after=1))

    def close(self) -> None:
        self.connection.close()


class PostgreSQLEngine(OrmEngine):
    name = "postgresql"
    # The INSERT creates the ``Queue`` rows of new queues itself, in a CTE.
    capabilities = Capabilities(
        queue_rows="created",
        wakeups=True,
        queue_max_concurrent=True,
        definition_caps=True,
        group_keys=True,
    )

    insert_jobs = staticmethod(insert_jobs)
    claim_jobs = staticmethod(claim_jobs)
    record_ends = staticmethod(record_ends)
    notify = staticmethod(notify)

    def lock_claims(self, connection: BaseDatabaseWrapper) -> None:
        """Wait for the cluster-wide claim lock (released at commit)."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CLAIM_LOCK_KEY])

    def listen(self, alias: str) -> NotifyListener | None:
        """``None`` with psycopg2 only (system check W003 says so)."""
        from django.db import connections

        try:
            import psycopg
            from psycopg import sql
        except ImportError:
            return None
        params = connections[alias].get_connection_params()
        params.pop("cursor_factory", None)
        connection = psycopg.connect(**params, autocommit=True)
        channel = sql.Identifier(jobs_settings.NOTIFY_CHANNEL)
        try:
            connection.execute(sql.SQL("LISTEN {}").format(channel))
        except Exception:
            connection.close()  # the caller retries later: leave no connection behind
            raise
        return NotifyListener(connection)

    def worker_session(self, alias: str) -> WorkerSession | None:
        """Off with ``DJANGO_JOBS_PREPARED_STATEMENTS = False``."""
        return WorkerSession(alias) if jobs_settings.PREPARED_STATEMENTS else None


ENGINE = PostgreSQLEngine()
