"""SQLite, MySQL and any other database: the ORM's bulk insert, polling for wake-ups."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db.backends.base.base import BaseDatabaseWrapper

from django_jobs.models import Job, Queue, transitions

#: The INSERT has no say in ``Queue`` rows: ``write_jobs`` creates new queues' rows first.
QUEUE_ROWS = None


def insert_jobs(
    connection: BaseDatabaseWrapper,
    jobs: Sequence[Job],
    *,
    ignore_conflicts: bool,
    new_queues: Sequence[str] = (),
) -> set[uuid.UUID]:
    """Insert ``jobs``; return the ids actually inserted (a key conflict skips a row).

    ``new_queues`` is always empty here (``QUEUE_ROWS`` is ``None``).
    """
    manager = Job.objects.using(connection.alias)
    manager.bulk_create(jobs, ignore_conflicts=ignore_conflicts)
    if not ignore_conflicts:
        return {job.id for job in jobs}
    # The ORM cannot report which rows ON CONFLICT skipped: look the ids up (ids are unique
    # and chosen here, so a row with our id is ours).
    ids = [job.id for job in jobs]
    return set(manager.filter(id__in=ids).values_list("id", flat=True))


def notify(connection: BaseDatabaseWrapper, queues: Sequence[str]) -> None:
    """No push wake-ups here: workers poll."""


def claim_jobs(
    connection: BaseDatabaseWrapper,
    *,
    queues: Sequence[str] | None,
    limit: int,
    worker: str,
    now: object,
    limits: object = None,
) -> list[Job]:
    """Claim with the ORM, locking candidates with SKIP LOCKED (MySQL 8 / MariaDB 10.6+).

    Also the path of SQLite older than 3.35. Of the limits, only paused queues apply here.
    """
    from django.db import transaction

    with transaction.atomic(using=connection.alias):
        ready = Job.objects.using(connection.alias).filter(state=transitions.CLAIM.source)
        if queues is not None:
            ready = ready.filter(queue__in=list(queues))
        paused = Queue.objects.using(connection.alias).filter(paused=True).values("name")
        ready = ready.exclude(queue__in=paused).exclude(queue__in=getattr(limits, "excluded", []))
        locked = list(
            ready.order_by("-priority", "run_at", "id").select_for_update(
                skip_locked=connection.features.has_select_for_update_skip_locked
            )[:limit]
        )
        claimed = []
        for job in locked:
            # Without row locks (old SQLite in DEFERRED mode) another worker may have won.
            won = transitions.CLAIM.apply(
                job,
                using=connection.alias,
                worker=worker,
                claim_token=uuid.uuid4(),
                started_at=now,
                heartbeat_at=now,
                attempts=job.attempts + 1,
                lease_expires_at=None,
                cancel_requested_at=None,
            )
            if won:
                claimed.append(job)
    return claimed


def record_successes(
    connection: BaseDatabaseWrapper, rows: Sequence[tuple[Job, dict]], worker: str
) -> set[uuid.UUID]:
    """Record successes (each ``(job, fields)`` from ``record.next_state``) in one
    transaction, each UPDATE fenced by the job's claim token; return the ids written."""
    from django.db import transaction

    from django_jobs.models import JobAttempt, Outcome

    alias = connection.alias
    written = set()
    with transaction.atomic(using=alias):
        for job, fields in rows:
            values = {name: value for name, value in fields.items() if name != "state"}
            changed = transitions.SUCCEED.write(job, using=alias, **values)
            if changed:
                JobAttempt.objects.using(alias).create(
                    job_id=job.pk,
                    number=job.attempts,
                    worker=worker,
                    started_at=fields["started_at"],
                    finished_at=fields["finished_at"],
                    outcome=Outcome.SUCCEEDED,
                )
                written.add(job.pk)
    return written
