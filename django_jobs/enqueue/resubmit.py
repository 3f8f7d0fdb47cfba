"""Resubmitting: a new job with a finished job's definition, arguments and options."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from django_jobs import states
from django_jobs.conf import jobs_settings
from django_jobs.enqueue.request import EnqueueRequest
from django_jobs.enqueue.write import after_enqueue, write_jobs
from django_jobs.exceptions import InvalidTransition
from django_jobs.models import DeadLetter, Job
from django_jobs.registry import registry
from django_jobs.states import State


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
