"""JobAttempt: one row per run of a job by a worker."""

from __future__ import annotations

from datetime import timedelta

from django.db import models


class Outcome(models.TextChoices):
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    TIMEOUT = "timeout", "timeout"
    STALLED = "stalled", "stalled"
    CANCELLED = "cancelled", "cancelled"
    LOST = "lost", "lost (worker died)"
    INTERRUPTED = "interrupted", "interrupted (worker shut down)"


class JobAttempt(models.Model):
    job = models.ForeignKey(
        "django_jobs.Job",
        on_delete=models.CASCADE,
        related_name="attempt_history",
        db_index=False,  # covered by the (job, number) unique constraint
    )
    number = models.PositiveIntegerField(help_text="1 for the first attempt.")
    worker = models.CharField(max_length=120, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    error_type = models.CharField(max_length=200, blank=True)
    error_message = models.TextField(blank=True)
    traceback = models.TextField(blank=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="dj_attempt_job_number"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of job {self.job_id}: {self.outcome}"

    @property
    def duration(self) -> timedelta | None:
        if self.finished_at is None:
            return None
        return self.finished_at - self.started_at
