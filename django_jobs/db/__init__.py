"""The vendor-specific hot path: bulk insert, notify/listen, claim and completion.

``for_connection(connection)`` returns the module for that database; each module offers the
same functions, written the way that database does them best.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any, NamedTuple

from django.db.backends.base.base import BaseDatabaseWrapper

#: Fields whose values are JSON documents: never shared between rows, since Python's ``==``
#: mixes up values that JSON keeps apart (``1``, ``1.0`` and ``True``).
JSON_FIELDS = frozenset({"args", "kwargs", "meta"})


class InsertShape(NamedTuple):
    """Which insert columns vary per row, and which shared ones are NULL (SQL text per shape)."""

    varying: tuple[str, ...]
    nulls: frozenset[str]


def split_columns(jobs: Sequence[Any], fields: Sequence[str]) -> tuple[InsertShape, dict[str, Any]]:
    """The shape of an insert of ``jobs``, and the values the rows share (by field name).

    A batch from one enqueue call differs only in ids, arguments and keys, so the shared
    values travel once instead of once per row.
    """
    first, shared, varying = jobs[0], {}, []
    for name in fields:
        value = getattr(first, name)
        if len(jobs) > 1 and (
            name in JSON_FIELDS or any(getattr(job, name) != value for job in jobs)
        ):
            varying.append(name)
        else:
            shared[name] = value
    nulls = frozenset(name for name, value in shared.items() if value is None)
    return InsertShape(tuple(varying), nulls), shared


def in_claim_order(jobs: list[Any]) -> list[Any]:
    """Claimed rows in claim order: ``UPDATE ... RETURNING`` promises no order."""
    return sorted(jobs, key=lambda j: (-j.priority, j.run_at, j.id))


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
