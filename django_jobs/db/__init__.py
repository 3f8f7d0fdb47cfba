"""The vendor-specific hot path: bulk insert, notify/listen, claim and completion.

``for_connection(connection)`` returns the module for that database; each module offers the
same functions, written the way that database does them best.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

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
    "InsertShape",
    "for_connection",
    "in_claim_order",
    "split_columns",
    "worker_session",
]


def for_connection(connection: BaseDatabaseWrapper) -> ModuleType:
    if connection.vendor == "postgresql":
        from django_jobs.db import postgresql

        return postgresql
    if connection.vendor == "sqlite":
        from django_jobs.db import sqlite

        return sqlite
    from django_jobs.db import generic

    return generic


def worker_session(alias: str) -> Any:
    """The connection a worker process claims and completes on besides Django's: its own
    ``WorkerSession`` on PostgreSQL (unless ``DJANGO_JOBS_PREPARED_STATEMENTS`` is off),
    else ``None`` (Django's connection serves)."""
    from django.db import connections

    from django_jobs.conf import jobs_settings

    ops = for_connection(connections[alias])
    if hasattr(ops, "WorkerSession") and jobs_settings.PREPARED_STATEMENTS:
        return ops.WorkerSession(alias)
    return None
