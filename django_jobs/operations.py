"""Operator actions on many dead letters at once (used by the admin and the API).

A single job, queue or schedule changes state through its model methods; resubmitting one
dead letter is ``DeadLetter.resubmit()`` (``django_jobs.enqueue.resubmit``).
"""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.db.models import QuerySet

from django_jobs.conf import jobs_settings
from django_jobs.enqueue.resubmit import resubmit_dead_letter
from django_jobs.exceptions import UnknownJob
from django_jobs.models import DeadLetter, Job

#: The skip reason of a row whose ``(name, version)`` is not registered in this process.
UNKNOWN_DEFINITION = "no worker knows this definition"

# --- dead letters -------------------------------------------------------------------------


def resubmit_dead_letters(
    name: str, *, limit: int, reset_retry_count: bool = True
) -> tuple[int, Counter[str]]:
    """Resubmit up to ``limit`` dead letters of definition ``name``, oldest first.

    Returns how many were resubmitted and the skipped ones by reason.
    """
    pending = DeadLetter.objects.using(jobs_settings.DATABASE).filter(
        name=name, resubmitted_at__isnull=True
    )
    done, skipped = 0, Counter[str]()
    for dead_letter in pending.order_by("failed_at", "pk")[: max(0, limit)]:
        try:
            resubmitted = resubmit_dead_letter(dead_letter, reset_retry_count=reset_retry_count)
        except UnknownJob:
            skipped[UNKNOWN_DEFINITION] += 1
            continue
        if resubmitted is None:
            skipped["resubmitted meanwhile"] += 1
        else:
            done += 1
    return done, skipped


def purge_dead_letters(dead_letters: QuerySet[DeadLetter]) -> int:
    """Delete these dead letters with their failed jobs and attempts; return how many."""
    alias = jobs_settings.DATABASE
    with transaction.atomic(using=alias):
        job_ids = list(dead_letters.using(alias).values_list("job_id", flat=True))
        _, deleted = Job.objects.using(alias).filter(pk__in=job_ids).delete()
    return deleted.get(DeadLetter._meta.label, 0)
