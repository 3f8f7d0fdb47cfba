"""Worker: a runjobs process (the supervisor, or one of its children) with its heartbeat."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.states import State

if TYPE_CHECKING:
    from django_jobs.models.job import Job


class WorkerState(models.TextChoices):
    RUNNING = "running", "running"
    STOPPING = "stopping", "stopping"
    STOPPED = "stopped", "stopped"
    DEAD = "dead", "dead"


class Worker(models.Model):
    id = models.CharField(max_length=120, primary_key=True)
    name = models.CharField(max_length=100, blank=True, help_text="The --worker-id, if given.")
    supervisor = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list, blank=True, help_text="Empty: every queue.")
    role = models.CharField(max_length=100, blank=True)
    concurrency = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(
        max_length=10, choices=WorkerState.choices, default=WorkerState.RUNNING
    )
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.id

    @property
    def is_alive(self) -> bool:
        """Running and heard from within ``DJANGO_JOBS_WORKER_TIMEOUT``."""
        limit = timedelta(seconds=jobs_settings.WORKER_TIMEOUT)
        return self.state in (WorkerState.RUNNING, WorkerState.STOPPING) and (
            timezone.now() - self.heartbeat_at <= limit
        )

    def running_jobs(self) -> QuerySet[Job]:
        """The jobs this worker runs now: its own, or its processes' for a supervisor."""
        from django_jobs.models.job import Job

        mine = Q(worker=self.pk) | Q(worker__startswith=f"{self.pk}/")
        return Job.objects.using(jobs_settings.DATABASE).filter(mine, state=State.RUNNING)
