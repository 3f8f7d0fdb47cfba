"""DeadLetter: the record of a job that failed for good, kept for inspection and resubmission."""

from django.db import models


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
