"""The engines: the vendor-specific hot path behind one contract (``db/engine.py``).

``for_connection(connection)`` returns the engine for that database, an object with the
operations of ``Engine`` (enqueue, claim, record completions, stage due jobs, rescue,
wake-ups), written the way that database does them best, and its ``capabilities``.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from django_jobs.db.engine import Capabilities, Engine, Listener
from django_jobs.db.rows import (
    INSERT_COLUMNS,
    INSERT_FIELDS,
    JSON_FIELDS,
    InsertShape,
    in_claim_order,
    split_columns,
)

__all__ = [
    "INSERT_COLUMNS",
    "INSERT_FIELDS",
    "JSON_FIELDS",
    "Capabilities",
    "Engine",
    "InsertShape",
    "Listener",
    "for_connection",
    "in_claim_order",
    "split_columns",
    "worker_session",
]


def for_connection(connection: BaseDatabaseWrapper) -> Engine:
    """The engine of ``connection``'s database."""
    if connection.vendor == "postgresql":
        from django_jobs.db import postgresql

        return postgresql.ENGINE
    if connection.vendor == "sqlite":
        from django_jobs.db import sqlite

        if sqlite.HAS_RETURNING:
            return sqlite.ENGINE
    if connection.vendor == "mysql":
        from django_jobs.db import mysql

        return mysql.ENGINE
    from django_jobs.db import generic

    return generic.ENGINE


def worker_session(alias: str) -> Any:
    """The connection a worker process claims and completes on besides Django's: its
    engine's ``worker_session()`` (PostgreSQL's, unless ``DJANGO_JOBS_PREPARED_STATEMENTS``
    is off), else ``None`` (Django's connection serves)."""
    from django.db import connections

    return for_connection(connections[alias]).worker_session(alias)
