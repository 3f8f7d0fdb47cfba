"""Operator actions on jobs (used by the admin and the API): resubmit, run now.

Each is a state change through the transition table, narrowed to the eligible states.
"""

from __future__ import annotations

from django.utils import timezone

from django_jobs import states
from django_jobs.conf import jobs_settings
from django_jobs.enqueue import EnqueueRequest, after_enqueue, write_jobs
from django_jobs.exceptions import InvalidTransition
from django_jobs.lifecycle import move
from django_jobs.models import Job
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


def run_job_now(job: Job) -> bool:
    """``scheduled`` → ``queued`` with ``run_at`` now; ``False`` when it was not scheduled."""
    if job.state != State.SCHEDULED:
        return False
    return move(job, State.QUEUED, run_at=timezone.now())
