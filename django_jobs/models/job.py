"""Job: one requested execution of a job definition."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from django_jobs import signals, states
from django_jobs.conf import jobs_settings
from django_jobs.exceptions import JobFailed, JobWaitTimeout
from django_jobs.ids import new_job_id
from django_jobs.models import transitions
from django_jobs.models.schedule import Schedule
from django_jobs.states import State

if TYPE_CHECKING:
    from django_jobs.registry import Definition


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=new_job_id, editable=False)
    name = models.CharField(max_length=200, help_text="The definition's name.")
    version = models.PositiveIntegerField(default=1)
    queue = models.CharField(max_length=100)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    priority = models.SmallIntegerField(default=0, help_text="-100..100; higher runs first.")
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    key = models.CharField(max_length=255, null=True, blank=True)
    group_key = models.CharField(max_length=255, null=True, blank=True)
    run_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts started so far.")
    max_attempts = models.PositiveIntegerField(default=1, help_text="1 + max_retries.")
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    worker = models.CharField(max_length=120, null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A running job not heard from by then is stalled."
    )
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    progress = models.FloatField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A finished job is pruned after this time."
    )
    scheduled_for = models.DateTimeField(
        null=True, blank=True, help_text="The schedule tick this job runs for."
    )
    resubmitted_from = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("cancel_job", "Can cancel jobs"),
            ("resubmit_job", "Can resubmit jobs"),
        ]
        indexes = [
            # Exactly the claim query: ready jobs of one queue in claim order. Partial, so
            # finished rows (the vast majority) never enter it.
            models.Index(
                fields=["queue", "-priority", "run_at", "id"],
                condition=Q(state=State.QUEUED),
                name="dj_job_claim",
            ),
            # Staging: scheduled jobs whose run_at has come.
            models.Index(fields=["run_at"], condition=Q(state=State.SCHEDULED), name="dj_job_due"),
            # The (small) running set: per-queue and per-definition limits, rescue.
            models.Index(
                fields=["queue", "name"], condition=Q(state=State.RUNNING), name="dj_job_running"
            ),
            models.Index(
                fields=["group_key"],
                condition=Q(state=State.RUNNING, group_key__isnull=False),
                name="dj_job_group_running",
            ),
            models.Index(
                fields=["expires_at"], condition=Q(expires_at__isnull=False), name="dj_job_expiry"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(key__isnull=False, state__in=states.ACTIVE_STATES),
                name="dj_job_active_key",
            ),
            models.UniqueConstraint(
                fields=["name", "scheduled_for"],
                condition=Q(scheduled_for__isnull=False),
                name="dj_job_schedule_tick",
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=-100, priority__lte=100), name="dj_job_priority_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    # --- enqueue --------------------------------------------------------------------------

    @classmethod
    def enqueue(
        cls,
        name: str,
        args: list[Any] | tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        *,
        version: int | None = None,
        **options: Any,
    ) -> Job:
        """Enqueue the registered definition ``name`` (latest version unless ``version``).

        ``options`` are those of ``definition.using()``: queue, priority, run_at, delay, key,
        on_conflict, meta, group_key. Raises ``UnknownJob`` for an unregistered definition.
        """
        from django_jobs.enqueue import named_call
        from django_jobs.registry import registry

        definition = registry.get(name, version)
        args, kwargs = named_call(name, args, kwargs)
        return definition.using(**options).enqueue(*args, **kwargs)

    # --- reading ---------------------------------------------------------------------------

    @property
    def definition(self) -> Definition | None:
        """The registered definition of this row, or ``None`` when this process has none."""
        from django_jobs.registry import registry

        return registry.find(self.name, self.version)

    @property
    def is_finished(self) -> bool:
        return self.state in states.FINISHED_STATES

    @property
    def wait_duration(self) -> timedelta | None:
        """Time from when the job was due (``run_at``) to when its last attempt started."""
        return self.started_at - self.run_at if self.started_at else None

    @property
    def run_duration(self) -> timedelta | None:
        """Time from the start of the last attempt to the end of the job."""
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def total_duration(self) -> timedelta | None:
        """Time from enqueue to the end of the job."""
        return self.finished_at - self.created_at if self.finished_at else None

    def wait(self, timeout: float | None = None, *, poll_interval: float = 0.5) -> Any:
        """Block until the job is finished; return its result or raise ``JobFailed``.

        ``timeout`` (seconds, ``None`` = forever) raises ``JobWaitTimeout``; the job goes on.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.01
        while True:
            self.refresh_from_db(
                using=jobs_settings.DATABASE,
                fields=["state", "result", "last_error", "finished_at", "attempts"],
            )
            if self.state == State.SUCCEEDED:
                return self.result
            if self.is_finished:
                raise JobFailed(self)
            if deadline is not None and time.monotonic() >= deadline:
                raise JobWaitTimeout(
                    f"job {self.pk} ({self.name}) is still {self.state} after {timeout} s"
                )
            pause = delay if deadline is None else min(delay, max(0.0, deadline - time.monotonic()))
            time.sleep(pause)
            delay = min(delay * 2, poll_interval)

    # --- state changes ----------------------------------------------------------------------

    def resubmit(self, *, reset_retry_count: bool = True) -> Job:
        """A new job with this one's definition, arguments and options (this row is kept).

        ``reset_retry_count=False`` gives the new job only the attempts this one had left.
        """
        from django_jobs.enqueue.resubmit import resubmit_job

        return resubmit_job(self, reset_retry_count=reset_retry_count)

    def run_now(self) -> bool:
        """Make a scheduled job (future ``run_at`` or a retry in backoff) ready at once.

        ``False`` when the row is not scheduled (any more): this object's state is what the
        change is conditioned on, so a stale object never moves a job a worker has claimed.
        """
        return transitions.RUN_NOW.apply(self, run_at=timezone.now())

    def cancel(self) -> bool:
        """Cancel this job: at once when waiting, by request when running.

        Returns ``True`` when the job is now cancelled, ``False`` when a running job was asked
        to stop (its worker interrupts it). A finished job raises ``InvalidTransition``.
        The state this object holds is tried first; when the row has moved since (say, a
        worker claimed it), the row's state is read again and decides.
        """
        alias = jobs_settings.DATABASE
        now = timezone.now()
        for _ in range(3):  # the row may move again between our read and write
            if transitions.CANCEL.allows(self.state):
                if self._cancel_waiting(now):
                    return True
            elif self.state == State.RUNNING:
                if transitions.request_cancel(self, now):
                    return False
            else:
                states.check_transition(self.state, State.CANCELLED, job_id=self.pk)
            fields = ["state", "claim_token", "cancel_requested_at"]
            self.refresh_from_db(using=alias, fields=fields)
        states.check_transition(self.state, State.CANCELLED, job_id=self.pk)
        return False

    def _cancel_waiting(self, now: Any) -> bool:
        """``scheduled``/``queued`` -> ``cancelled``; the schedule plans its next run."""
        alias = jobs_settings.DATABASE
        with transaction.atomic(using=alias):
            moved = transitions.CANCEL.apply(
                self,
                finished_at=now,
                last_error="cancelled",
                expires_at=transitions.expiry(self, now),
            )
            if moved and self.scheduled_for is not None:
                Schedule.book_run(self, State.CANCELLED, now)
        if moved:
            transaction.on_commit(
                lambda: signals.job_cancelled.send_robust(type(self), job=self), using=alias
            )
        return moved
