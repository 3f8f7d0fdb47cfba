"""Schedule: the stored state of a recurring definition (cron or interval)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import models

from django_jobs.exceptions import JobDefinitionError
from django_jobs.schedules import Cron

if TYPE_CHECKING:
    from django_jobs.models.job import Job


class Schedule(models.Model):
    KIND_CHOICES = [("cron", "cron"), ("interval", "interval")]

    name = models.CharField(max_length=200, unique=True, help_text="The definition's name.")
    version = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=8, choices=KIND_CHOICES)
    cron = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    interval_seconds = models.FloatField(null=True, blank=True)
    misfire = models.CharField(
        max_length=20, default="once", help_text="all, skip, once, or seconds of grace."
    )
    max_runs = models.PositiveIntegerField(null=True, blank=True)
    max_failures = models.PositiveIntegerField(
        null=True, blank=True, help_text="Consecutive failures before the schedule is skipped."
    )
    start_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_job_id = models.UUIDField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    skipped_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when max_failures consecutive failures stopped the schedule.",
    )
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def skipped(self) -> bool:
        return self.skipped_at is not None

    @property
    def max_runs_reached(self) -> bool:
        return self.max_runs is not None and self.runs >= self.max_runs

    @property
    def status(self) -> str:
        """One word: ``skipped``, ``disabled``, ``finished`` (max runs reached) or ``active``."""
        if self.skipped:
            return "skipped"
        if not self.enabled:
            return "disabled"
        if self.max_runs_reached:
            return "finished"
        return "active"

    def next_runs(self, count: int = 5) -> list[datetime]:
        """The next ``count`` ticks from ``next_run_at``, computed from the stored schedule.

        Interval schedules of a ``RecurringJob`` class are planned when a run ends, so only
        their stored next run is known; an unreadable cron expression gives the stored one too.
        """
        if self.next_run_at is None:
            return []
        runs = [self.next_run_at]
        step = self._step()
        while step is not None and len(runs) < count:
            runs.append(step(runs[-1]))
        if self.max_runs is not None:
            runs = runs[: max(0, self.max_runs - self.runs)]
        return runs

    def _step(self) -> Callable[[datetime], datetime] | None:
        """The function from one tick to the next, when the schedule has fixed ticks."""
        if self.kind == "cron" and self.cron:
            try:
                return Cron(self.cron, timezone=self.timezone).next_after
            except (JobDefinitionError, ValueError, LookupError):
                return None
        if self.kind == "interval" and self.interval_seconds and self._fixed_interval():
            interval = timedelta(seconds=self.interval_seconds)
            return lambda tick: tick + interval
        return None

    def _fixed_interval(self) -> bool:
        """True for ``@job(interval=...)``; a ``RecurringJob`` plans each run after the last."""
        from django_jobs.registry import registry

        definition = registry.find(self.name, self.version)
        return definition is not None and definition.kind != "recurring"

    # --- state changes (django_jobs.operations) ----------------------------------------------

    def enable(self) -> bool:
        """Let the schedule fire again; ``False`` when it was enabled already."""
        from django_jobs.operations import set_schedule_enabled

        return set_schedule_enabled(self, True)

    def disable(self) -> bool:
        """Pause the schedule (nothing is enqueued); ``False`` when it was disabled already."""
        from django_jobs.operations import set_schedule_enabled

        return set_schedule_enabled(self, False)

    def reenable(self) -> bool:
        """Clear the skip after too many failures; ``False`` when it was not skipped."""
        from django_jobs.operations import reenable_schedule

        return reenable_schedule(self)

    def run_now(self) -> Job:
        """Enqueue one run now, outside the schedule (counters unchanged)."""
        from django_jobs.operations import run_schedule_now

        return run_schedule_now(self)
