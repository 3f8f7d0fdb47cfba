"""Operator actions (used by the admin and the API): state changes outside the worker.

Each function is one state change, narrowed to the rows whose current state allows it by a
conditional UPDATE, so that two operators (or an operator and a worker) racing for the same
row cannot both win. The callers (model methods, the admin, the API) never write state
themselves.
"""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from django_jobs import states
from django_jobs.conf import jobs_settings
from django_jobs.enqueue import EnqueueRequest, after_enqueue, write_jobs
from django_jobs.exceptions import InvalidTransition, UnknownJob
from django_jobs.models import DeadLetter, Job
from django_jobs.registry import registry
from django_jobs.states import State

#: The skip reason of a row whose ``(name, version)`` is not registered in this process.
UNKNOWN_DEFINITION = "no worker knows this definition"

# --- jobs ---------------------------------------------------------------------------------


def resubmit_job(job: Job, *, reset_retry_count: bool = True) -> Job:
    """Enqueue a copy of a finished job; raises ``UnknownJob`` if its definition is gone."""
    if job.state not in states.FINISHED_STATES:
        raise InvalidTransition(
            f"job {job.pk} is {job.state}; only a finished job can be resubmitted",
            current=job.state,
            target=State.QUEUED,
        )
    definition = registry.get(job.name, job.version)
    request = EnqueueRequest(definition).using(
        queue=job.queue, priority=job.priority, meta=job.meta or None, group_key=job.group_key
    )
    copy = request.build(job.args, job.kwargs, job.key)
    copy.resubmitted_from = job.pk
    if not reset_retry_count:
        copy.max_attempts = max(1, job.max_attempts - job.attempts)
    alias = jobs_settings.DATABASE
    result = write_jobs([copy], alias, "return")
    after_enqueue(result, alias)
    return result[0]


# --- dead letters -------------------------------------------------------------------------


def resubmit_dead_letter(dead_letter: DeadLetter, *, reset_retry_count: bool = True) -> Job | None:
    """Resubmit the job of a dead letter, once; ``None`` when it was resubmitted already.

    The dead letter is marked (``resubmitted_at``) by a conditional UPDATE in the same
    transaction as the new job's INSERT: two operators resubmitting it at once make one job.
    Raises ``UnknownJob`` (and changes nothing) when the definition is not registered.
    """
    alias = jobs_settings.DATABASE
    now = timezone.now()
    with transaction.atomic(using=alias):
        rows = DeadLetter.objects.using(alias).filter(pk=dead_letter.pk)
        if not rows.filter(resubmitted_at__isnull=True).update(resubmitted_at=now):
            return None
        job = Job.objects.using(alias).get(pk=dead_letter.job_id)
        copy = resubmit_job(job, reset_retry_count=reset_retry_count)
        rows.update(resubmitted_job=copy)
    dead_letter.resubmitted_at, dead_letter.resubmitted_job = now, copy
    return copy


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
