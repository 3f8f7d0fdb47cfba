"""DeadLetter: the record of a job that failed for good, kept for inspection and resubmission."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from django_jobs.models.job import Job


class DeadLetter(models.Model):
    job = models.OneToOneField(
        "django_jobs.Job", on_delete=models.CASCADE, related_name="dead_letter"
    )
    name = models.CharField(max_length=200, db_index=True, help_text="The definition's name.")
    reason = models.TextField(blank=True)
    failed_at = models.DateTimeField(db_index=True)
    resubmitted_job = models.ForeignKey(
        "django_jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resubmitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-failed_at"]

    def __str__(self) -> str:
        return f"dead letter of {self.name} ({self.job_id})"

    @property
    def is_resubmitted(self) -> bool:
        return self.resubmitted_at is not None

    def resubmit(self, *, reset_retry_count: bool = True) -> Job | None:
        """Enqueue a copy of the failed job, once; ``None`` when it was resubmitted already.

        ``reset_retry_count=False`` gives the new job only the attempts the failed one had
        left (at least one). Raises ``UnknownJob`` when the definition is not registered.
        """
        from django_jobs.enqueue.resubmit import resubmit_dead_letter

        return resubmit_dead_letter(self, reset_retry_count=reset_retry_count)
