"""Schedule: the stored state of a recurring definition (cron or interval)."""

from __future__ import annotations

from django.db import models


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
