"""SQLite, MySQL and any other database: the ORM's bulk insert, polling for wake-ups."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db.backends.base.base import BaseDatabaseWrapper

from django_jobs.models import Job


def insert_jobs(
    connection: BaseDatabaseWrapper, jobs: Sequence[Job], *, ignore_conflicts: bool
) -> set[uuid.UUID]:
    """Insert ``jobs``; return the ids actually inserted (a key conflict skips a row)."""
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
