"""A tiny model that the demo jobs write to."""

from django.db import models


class Report(models.Model):
    """A report produced by a job."""

    title = models.CharField(max_length=200)
    rows = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.title} ({self.rows} rows)"
