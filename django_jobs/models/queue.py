"""Queue: a named lane of jobs with its own limits. Rows are created on first use."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.names import QUEUE_NAME_RE, QUEUE_NAME_RULE

__all__ = ["QUEUE_NAME_RE", "QUEUE_NAME_RULE", "Queue", "validate_queue_name"]


def validate_queue_name(value: object) -> None:
    if not isinstance(value, str) or not QUEUE_NAME_RE.fullmatch(value):
        raise ValidationError(f"{value!r} is not a valid queue name ({QUEUE_NAME_RULE})")


class RatePeriod(models.TextChoices):
    SECOND = "second", "second"
    MINUTE = "minute", "minute"
    HOUR = "hour", "hour"
    DAY = "day", "day"


PERIOD_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


class Queue(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[validate_queue_name])
    paused = models.BooleanField(default=False, help_text="No job is claimed from a paused queue.")
    max_concurrent = models.PositiveIntegerField(
        null=True, blank=True, help_text="Jobs from this queue running at once per worker."
    )
    rate_numerator = models.PositiveIntegerField(
        null=True, blank=True, help_text="Jobs started per rate period across the cluster."
    )
    rate_denominator = models.PositiveIntegerField(default=1)
    rate_period = models.CharField(max_length=6, choices=RatePeriod.choices, blank=True)
    # Token bucket state of the cluster-wide rate limit, updated inside the claim transaction.
    rate_allowance = models.FloatField(default=0)
    rate_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.rate_numerator is not None and not self.rate_period:
            raise ValidationError({"rate_period": "Choose a period for the rate limit."})
        if self.rate_period and self.rate_numerator is None:
            raise ValidationError({"rate_numerator": "Set how many jobs per period."})
        if self.rate_denominator == 0:
            raise ValidationError({"rate_denominator": "The denominator must be at least 1."})

    @property
    def rate_per_second(self) -> float | None:
        """The rate limit in jobs per second, or ``None`` when the queue has none."""
        if self.rate_numerator is None or not self.rate_period or not self.rate_denominator:
            return None
        return self.rate_numerator / (self.rate_denominator * PERIOD_SECONDS[self.rate_period])

    def pause(self) -> bool:
        """Stop workers claiming from this queue; ``False`` when it was paused already."""
        return self._set_paused(True)

    def resume(self) -> bool:
        """Let workers claim from this queue again; ``False`` when it was not paused."""
        return self._set_paused(False)

    def _set_paused(self, paused: bool) -> bool:
        now = timezone.now()
        changed = (
            Queue.objects.using(jobs_settings.DATABASE)
            .filter(pk=self.pk, paused=not paused)
            .update(paused=paused, updated_at=now)
        )
        if changed:
            self.paused, self.updated_at = paused, now
        return bool(changed)
