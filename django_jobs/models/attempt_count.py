"""AttemptCount: monotonic totals of finished attempts, for the metrics view's counters.

Attempt rows are pruned with their jobs, so counting them cannot give a Prometheus counter.
These totals only grow: ``django_jobs.metrics.rollup`` adds the attempts inserted since its
watermark (``AttemptCountWatermark``, one row) each time the metrics view is scraped. The
worker never writes here.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class AttemptCount(models.Model):
    """Attempts finished so far with one ``outcome``, of one definition on one queue."""

    queue = models.CharField(max_length=100)
    name = models.CharField(max_length=200, help_text="The definition's name.")
    outcome = models.CharField(max_length=12)
    total = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["queue", "name", "outcome"]
        constraints = [
            models.UniqueConstraint(
                fields=["queue", "name", "outcome"], name="dj_attempt_count_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.queue} {self.name} {self.outcome}: {self.total}"


class AttemptCountWatermark(models.Model):
    """How far the totals have counted: every attempt with ``id <= attempt_id`` is in them.

    A single row (``id = 1``); the rollup moves it with a compare-and-set UPDATE, so two
    concurrent scrapes never count the same attempts twice.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    attempt_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"attempts counted up to id {self.attempt_id}"
