"""The vendor-specific hot path: bulk insert, notify/listen, claim and completion.

``for_connection(connection)`` returns the module for that database; each module offers the
same functions, written the way that database does them best.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper


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
