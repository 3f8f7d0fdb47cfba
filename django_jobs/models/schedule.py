"""Schedule: the stored state of a recurring definition (cron or interval)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import F
from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.exceptions import JobDefinitionError
from django_jobs.logs import log_event
from django_jobs.retry import recurring_backoff_seconds
from django_jobs.schedules import Cron, following
from django_jobs.states import State

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
    last_outcome = models.CharField(
        max_length=12,
        blank=True,
        default="",
        help_text="How the last run that ended ended: succeeded, failed, timeout, cancelled.",
    )
    last_error = models.TextField(
        blank=True, default="", help_text="The error of the last run that ended, if it failed."
    )
    last_duration_seconds = models.FloatField(
        null=True, blank=True, help_text="How long the last run that ended took."
    )
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    durable = models.BooleanField(
        default=True,
        help_text="False: each run is run by the worker that takes its tick, with no Job row.",
    )
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
        return self.within_max_runs(runs, None)[0]

    def _step(self) -> Callable[[datetime], datetime] | None:
        """The function from one tick to the next, when the schedule has fixed ticks."""
        if self.kind == "cron" and self.cron:
            try:
                return following(Cron(self.cron, timezone=self.timezone), None)
            except (JobDefinitionError, ValueError, LookupError):
                return None
        if self.kind == "interval" and self.interval_seconds and self._fixed_interval():
            return following(None, self.interval_seconds)
        return None

    def _fixed_interval(self) -> bool:
        """True for ``@job(interval=...)``; a ``RecurringJob`` plans each run after the last."""
        from django_jobs.registry import registry

        definition = registry.find(self.name, self.version)
        return definition is not None and definition.kind != "recurring"

    # --- state changes ----------------------------------------------------------------------

    def _update(self, when: dict[str, object], **fields: object) -> bool:
        """UPDATE ``fields`` if the row still matches ``when``; mirror them in memory."""
        fields["updated_at"] = timezone.now()
        changed = (
            Schedule.objects.using(jobs_settings.DATABASE)
            .filter(pk=self.pk, **when)
            .update(**fields)
        )
        if changed:
            for name, value in fields.items():
                setattr(self, name, value)
        return bool(changed)

    def enable(self) -> bool:
        """Let the schedule fire again; ``False`` when it was enabled already."""
        return self._update({"enabled": False}, enabled=True)

    def disable(self) -> bool:
        """Pause the schedule (nothing is enqueued); ``False`` when it was disabled already."""
        return self._update({"enabled": True}, enabled=False)

    def reenable(self) -> bool:
        """Clear the skip after too many failures; ``False`` when it was not skipped."""
        return self._update({"skipped_at__isnull": False}, skipped_at=None, consecutive_failures=0)

    def run_now(self) -> Job:
        """Enqueue one run now, outside the schedule (counters unchanged).

        Like a run enqueued by hand, it has no ``scheduled_for``. Raises ``UnknownJob`` when
        the definition is not registered in this process.
        """
        from django_jobs.registry import registry

        return registry.get(self.name, self.version).enqueue()

    # --- bookkeeping of runs ------------------------------------------------------------------

    def within_max_runs(
        self, ticks: list[datetime], next_at: datetime | None
    ) -> tuple[list[datetime], datetime | None]:
        """The ``ticks`` still allowed by ``max_runs``, and ``next_at`` (``None`` once the
        last allowed run is among them)."""
        if self.max_runs is None:
            return ticks, next_at
        ticks = ticks[: max(0, self.max_runs - self.runs)]
        if self.runs + len(ticks) >= self.max_runs:
            next_at = None
        return ticks, next_at

    def advance(self, runs: int, next_at: datetime | None, now: datetime, using: str) -> bool:
        """Count ``runs`` fired at ``now`` and wait for ``next_at`` next; ``False`` when
        another worker advanced the schedule first (one conditional UPDATE from the
        ``next_run_at`` this object holds: of any number of workers, one wins a tick)."""
        won = (
            Schedule.objects.using(using)
            .filter(pk=self.pk, next_run_at=self.next_run_at)
            .update(next_run_at=next_at, runs=F("runs") + runs, last_run_at=now)
        )
        return bool(won)

    #: The longest ``last_error`` kept (the start of the message; a run's job row, when it
    #: has one, keeps the whole error).
    LAST_ERROR_LENGTH = 1000

    @classmethod
    def book_run(cls, job: Job, outcome: str, now: datetime) -> None:
        """Book a finished run of a schedule (called in the transaction that records it).

        ``outcome`` is the job's final state (succeeded, failed or cancelled); see ``book``.
        """
        started = job.started_at
        duration = (now - started).total_seconds() if started is not None else None
        cls.book(job.name, outcome, now, error=job.last_error, duration_seconds=duration)

    @classmethod
    def book(
        cls,
        name: str,
        outcome: str,
        now: datetime,
        *,
        error: str = "",
        duration_seconds: float | None = None,
    ) -> None:
        """Book a run of schedule ``name`` that ended at ``now``, in the caller's transaction
        (the durable runs' ``book_run`` and the non-durable runs of ``worker.nondurable``).

        A success resets the consecutive failures, a cancellation counts as neither, any other
        outcome (failed, timeout, ...) adds one; the outcome, its error (failures only, cut at
        ``LAST_ERROR_LENGTH``) and the duration are kept as the last ones. A ``RecurringJob``
        plans its next run from ``now``.
        """
        from django_jobs.registry import registry

        alias = jobs_settings.DATABASE
        schedule = cls.objects.using(alias).select_for_update().filter(name=name).first()
        if schedule is None:
            return
        failed = schedule._count_outcome(outcome, now)
        schedule.last_outcome = outcome
        schedule.last_error = error[: cls.LAST_ERROR_LENGTH] if failed else ""
        schedule.last_duration_seconds = duration_seconds
        definition = registry.find(name)
        if (
            definition is not None
            and definition.kind == "recurring"
            and not schedule.max_runs_reached
        ):
            if failed:
                wait = recurring_backoff_seconds(schedule.consecutive_failures)
            else:
                wait = definition.interval or 0
            schedule.next_run_at = now + timedelta(seconds=wait)
        schedule.save(using=alias, update_fields=BOOKED_FIELDS)

    def _count_outcome(self, outcome: str, now: datetime) -> bool:
        """Count a run's outcome; skip the schedule after ``max_failures`` in a row. Returns
        whether the run failed (anything but a success or a cancellation)."""
        failed = outcome not in (State.SUCCEEDED, State.CANCELLED)
        if outcome == State.SUCCEEDED:
            self.consecutive_failures = 0
        elif failed:
            self.consecutive_failures += 1
            self.failures += 1
        limit = self.max_failures
        if limit and self.consecutive_failures >= limit:
            self.skipped_at = now
            log_event(
                "schedule.skipped",
                logging.WARNING,
                schedule=self.name,
                failures=self.consecutive_failures,
            )
        return failed


#: What booking a run that ended writes.
BOOKED_FIELDS = [
    "consecutive_failures",
    "failures",
    "skipped_at",
    "next_run_at",
    "last_outcome",
    "last_error",
    "last_duration_seconds",
    "updated_at",
]
