"""Enqueueing: validate everything first, then write all rows with one INSERT.

Nothing is written when any argument or option is wrong: every check runs before the
database is touched. A plain enqueue is ONE statement (the INSERT, with its NOTIFY on
PostgreSQL and, the first time this process uses a queue, its ``Queue`` row), atomic on its
own; an enqueue that may write with more than one statement (keys in ``enqueue_many``,
``on_conflict="replace"``, on SQLite a queue without its row yet) runs in a transaction (a
savepoint when the caller already has one, so a caller's rollback removes the jobs too).

* ``validate``: per-call options and call arguments;
* ``request``: ``EnqueueRequest``, a definition with per-call options, building the rows;
* ``write``: the INSERT, key conflicts, ``Queue`` rows and ``job_enqueued``;
* ``resubmit``: a copy of a finished job, and of a dead letter's job;
* ``inline``: inline mode (``DJANGO_JOBS_INLINE``), run by the runner the app installs.
"""

from django_jobs.enqueue.request import ENQUEUE_MANY_CHUNK, Call, EnqueueRequest
from django_jobs.enqueue.validate import (
    EnqueueOptions,
    InvalidEnqueue,
    check_arguments,
    check_calls,
    check_options,
    named_call,
)
from django_jobs.enqueue.write import (
    after_enqueue,
    ensure_queues,
    forget_queues,
    remember_queues,
    write_jobs,
)
from django_jobs.options import MAX_DELAY, ON_CONFLICT

__all__ = [
    "ENQUEUE_MANY_CHUNK",
    "MAX_DELAY",
    "ON_CONFLICT",
    "Call",
    "EnqueueOptions",
    "EnqueueRequest",
    "InvalidEnqueue",
    "after_enqueue",
    "check_arguments",
    "check_calls",
    "check_options",
    "ensure_queues",
    "forget_queues",
    "named_call",
    "remember_queues",
    "write_jobs",
]
