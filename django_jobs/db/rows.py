"""What every engine shares: the columns an enqueue writes, and the shape of a batch.

Plain values and functions (no vendor SQL), imported by each engine module; ``django_jobs.db``
re-exports them.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import repeat
from operator import attrgetter
from typing import Any, NamedTuple

#: Fields whose values are JSON documents: never shared between rows, since Python's ``==``
#: mixes up values that JSON keeps apart (``1``, ``1.0`` and ``True``).
JSON_FIELDS = frozenset({"args", "kwargs", "meta"})

#: (field name, PostgreSQL type): the columns an enqueue writes, in every engine; every other
#: column takes its NULL.
INSERT_COLUMNS = (
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
INSERT_FIELDS = tuple(name for name, _ in INSERT_COLUMNS)


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
        # The comparison runs in C (map over the batch), not in a Python loop per row.
        if len(jobs) > 1 and (
            name in JSON_FIELDS
            or not all(map(operator.eq, repeat(value), map(attrgetter(name), jobs)))
        ):
            varying.append(name)
        else:
            shared[name] = value
    nulls = frozenset(name for name, value in shared.items() if value is None)
    return InsertShape(tuple(varying), nulls), shared


def in_claim_order(jobs: list[Any]) -> list[Any]:
    """Claimed rows in claim order: ``UPDATE ... RETURNING`` promises no order."""
    return sorted(jobs, key=lambda j: (-j.priority, j.run_at, j.id))
