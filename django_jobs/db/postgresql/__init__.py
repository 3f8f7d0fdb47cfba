"""The PostgreSQL engine (``ENGINE``): the hot path written the way PostgreSQL does it best.

* ``enqueue``: one-statement insert from arrays, with its NOTIFY;
* ``prepared``: the enqueue's cursor, prepared by the server when the project allows it;
* ``claim``: the claim, a LATERAL walk of each served queue in one statement;
* ``session``: server-bound cursors, the worker process's own connection (prepared
  statements, generic plans) and the batched completion of attempts.
"""

from django_jobs.db.notify import notify
from django_jobs.db.postgresql.claim import claim_jobs, claim_sql, ready_queues
from django_jobs.db.postgresql.engine import ENGINE
from django_jobs.db.postgresql.enqueue import INSERT_FIELDS, insert_jobs
from django_jobs.db.postgresql.prepared import statement_cursor
from django_jobs.db.postgresql.session import (
    WorkerSession,
    bound_cursor,
    jobs_from_rows,
    record_ends,
)

__all__ = [
    "ENGINE",
    "INSERT_FIELDS",
    "WorkerSession",
    "bound_cursor",
    "claim_jobs",
    "claim_sql",
    "insert_jobs",
    "jobs_from_rows",
    "notify",
    "ready_queues",
    "record_ends",
    "statement_cursor",
]
