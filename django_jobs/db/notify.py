"""Wake-ups: PostgreSQL ``NOTIFY``, at most once per queue (or payload) per transaction.

Apart from the engines so that any writer that makes jobs ready, or asks a running job to
stop, can wake the workers without importing an engine (and the models they import). On
other databases workers poll, and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from django_jobs.conf import jobs_settings

#: The payload of a request to cancel a running job: the supervisors look at their jobs.
CANCEL_WAKEUP = "cancel"


def wake_workers(connection: BaseDatabaseWrapper, payloads: Sequence[str]) -> None:
    """``NOTIFY`` the workers on PostgreSQL (delivered at commit); nothing elsewhere."""
    if connection.vendor == "postgresql":
        notify(connection, payloads)


def notify(connection: BaseDatabaseWrapper, queues: Sequence[str]) -> None:
    """``NOTIFY`` each queue once per transaction, from the enqueue itself (never a trigger).

    Inside ``atomic()`` the notification is delivered at COMMIT and dropped on rollback, so
    no worker wakes for a job it cannot see. An enqueue sends its NOTIFY within its INSERT
    (``insert_jobs``); this is for other writers that make jobs ready.
    """
    pending = unsent(connection, queues)
    if pending:
        channel = jobs_settings.NOTIFY_CHANNEL
        with connection.cursor() as cursor:
            for queue in pending:
                cursor.execute("SELECT pg_notify(%s, %s)", [channel, queue])
        mark_sent(connection, pending)


def unsent(connection: BaseDatabaseWrapper, queues: Sequence[str]) -> list[str]:
    """The distinct ``queues`` not yet notified in this transaction (all in autocommit)."""
    if not jobs_settings.USE_LISTEN_NOTIFY:
        return []
    distinct = list(dict.fromkeys(queues))
    if not connection.in_atomic_block:
        return distinct
    sent = _sent_in_transaction(connection)
    return [queue for queue in distinct if queue not in sent]


def mark_sent(connection: BaseDatabaseWrapper, queues: Sequence[str]) -> None:
    if connection.in_atomic_block:
        _sent_in_transaction(connection).update(queues)


def _sent_in_transaction(connection: BaseDatabaseWrapper) -> set[str]:
    """The queues notified in the current transaction.

    They are kept next to an on_commit marker: when the marker is gone from the
    connection's on_commit list, the transaction (or the savepoint that sent them) has
    ended, and the memory is stale.
    """
    sent, marker = getattr(connection, "_django_jobs_notified", (None, None))
    if sent is None or not any(item[1] is marker for item in connection.run_on_commit):
        sent = set()

        def marker() -> None:
            connection._django_jobs_notified = (None, None)  # type: ignore[attr-defined]

        transaction.on_commit(marker, using=connection.alias)
        connection._django_jobs_notified = (sent, marker)  # type: ignore[attr-defined]
    return sent
