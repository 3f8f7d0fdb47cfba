"""The django_jobs models, one per file."""

from django_jobs.models.attempt import JobAttempt, Outcome
from django_jobs.models.attempt_count import AttemptCount, AttemptCountWatermark
from django_jobs.models.dead_letter import DeadLetter
from django_jobs.models.job import Job
from django_jobs.models.queue import Queue, RatePeriod
from django_jobs.models.role import Role
from django_jobs.models.schedule import Schedule
from django_jobs.models.worker import Worker, WorkerState

__all__ = [
    "AttemptCount",
    "AttemptCountWatermark",
    "DeadLetter",
    "Job",
    "JobAttempt",
    "Outcome",
    "Queue",
    "RatePeriod",
    "Role",
    "Schedule",
    "Worker",
    "WorkerState",
]
