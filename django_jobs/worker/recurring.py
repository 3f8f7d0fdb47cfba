"""Recurring definitions, the worker's part: sync them to Schedule rows at start-up, and
enqueue each due tick exactly once.

Exactly once across any number of workers: a worker advances a schedule with a conditional
UPDATE (``Schedule.advance``: ``WHERE next_run_at = <the value it read>``) and enqueues the
tick's job in the same transaction only when that UPDATE changed the row; a unique
``(name, scheduled_for)`` constraint on jobs guards the same thing a second time. The tick
arithmetic is ``django_jobs.schedules`` (``following``, ``preceding``, ``due_ticks``); the
bookkeeping of a run that ended is ``Schedule.book_run``.

A non-durable definition (``durable=False``) wins its tick the same way, but the run is not
enqueued: the worker that won it runs it at once, with no ``Job`` row
(``django_jobs.worker.nondurable``).

Cron and ``@job(interval=...)`` schedules run at fixed times (misfire policy after downtime).
``RecurringJob`` classes keep seed 000's cooperative semantics: the next run is planned when a
run ends — ``interval`` after a success, ``min(2 ** consecutive_failures, 300)`` seconds after
a failure — and the schedule is skipped after ``max_retries`` consecutive failures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.enqueue import EnqueueRequest, after_enqueue, write_jobs
from django_jobs.logs import log_event
from django_jobs.models import Job, Schedule
from django_jobs.registry import Definition, registry
from django_jobs.schedules import due_ticks, first_tick, following, misfire_policy, preceding
from django_jobs.states import ACTIVE_STATES
from django_jobs.worker import nondurable


def recurring_definitions() -> dict[str, Definition]:
    """The latest version of every recurring definition, by name."""
    found: dict[str, Definition] = {}
    for definition in registry.all():
        if definition.is_recurring:
            found[definition.name] = definition  # registry.all() is sorted: latest last
    return found


def schedule_fields(definition: Definition) -> dict[str, Any]:
    cron = definition.cron
    return {
        "version": definition.version,
        "kind": "cron" if cron else "interval",
        "cron": cron.expression if cron else "",
        "timezone": cron.timezone if cron else "UTC",
        "interval_seconds": definition.interval,
        "misfire": str(cron.misfire) if cron else "once",
        "max_runs": cron.max_runs if cron else None,
        "max_failures": definition.schedule_max_failures,
        "start_at": cron.start_at if cron else None,
    }


def sync_schedules(now: datetime | None = None) -> list[Schedule]:
    """Create or update a Schedule row for each recurring definition (worker start-up)."""
    now = now or timezone.now()
    alias = jobs_settings.DATABASE
    synced = []
    for name, definition in recurring_definitions().items():
        fields = schedule_fields(definition)
        with transaction.atomic(using=alias):
            schedule, created = (
                Schedule.objects.using(alias)
                .select_for_update()
                .get_or_create(name=name, defaults={**fields, "synced_at": now})
            )
            changed = any(getattr(schedule, k) != v for k, v in fields.items())
            if created or changed or _needs_restart(schedule, alias):
                for key, value in fields.items():
                    setattr(schedule, key, value)
                schedule.next_run_at = first_tick(definition.cron, now)
            # How runs are run, not when: switching it keeps the next run.
            schedule.durable = nondurable.is_durable(definition)
            schedule.synced_at = now
            schedule.save(using=alias)
        synced.append(schedule)
    return synced


def _needs_restart(schedule: Schedule, alias: str) -> bool:
    """A class-based schedule waits for its run to end; if that run is gone, start again."""
    if schedule.next_run_at is not None or schedule.max_runs_reached:
        return False
    return not Job.objects.using(alias).filter(name=schedule.name, state__in=ACTIVE_STATES).exists()


def enqueue_due(now: datetime | None = None, watch: nondurable.Watch | None = None) -> int:
    """Enqueue the due ticks of every schedule this process knows, and run those of the
    non-durable ones (``watch``: see ``nondurable.run_tick``); return the number of ticks
    taken (jobs enqueued, runs run)."""
    now = now or timezone.now()
    alias = jobs_settings.DATABASE
    definitions = recurring_definitions()
    if not definitions:
        return 0
    due = Schedule.objects.using(alias).filter(
        name__in=list(definitions), enabled=True, skipped_at__isnull=True, next_run_at__lte=now
    )
    return sum(_fire(s, definitions[s.name], now, alias, watch) for s in due)


def _fire(
    schedule: Schedule,
    definition: Definition,
    now: datetime,
    alias: str,
    watch: nondurable.Watch | None = None,
) -> int:
    """Enqueue the due ticks of one schedule, if this worker wins them; return how many.

    A non-durable schedule runs one run, for the newest due tick, after the transaction that
    took it has committed (the run is not held in it)."""
    durable = nondurable.is_durable(definition)
    ticks, next_at = _due(schedule, definition, now)
    if not durable:
        ticks = ticks[-1:]  # catch-up ticks collapse into one run, here and now
    ticks, next_at = schedule.within_max_runs(ticks, next_at)
    with transaction.atomic(using=alias):
        if not schedule.advance(len(ticks), next_at, now, alias):
            return 0  # another worker fired this tick
        if ticks and durable:
            _enqueue_ticks(definition, ticks, alias)
    if ticks:
        log_event(
            "schedule.fired",
            schedule=schedule.name,
            ticks=len(ticks),
            next_run=next_at.isoformat() if next_at else None,
            durable=None if durable else False,
        )
    if ticks and not durable:
        nondurable.run_tick(schedule.name, definition, ticks[0], watch)
    return len(ticks)


def _due(
    schedule: Schedule, definition: Definition, now: datetime
) -> tuple[list[datetime], datetime | None]:
    """The ticks to run now and the next one to wait for. A ``RecurringJob`` class runs its
    one stored tick, and its next run is planned when that run ends (``Schedule.book_run``);
    a fixed-tick schedule follows its misfire policy."""
    if definition.kind == "recurring":
        return [schedule.next_run_at], None
    cron, interval, stored = definition.cron, definition.interval, schedule.next_run_at
    return due_ticks(
        stored,
        now,
        following(cron, interval),
        misfire_policy(schedule.misfire),
        jobs_settings.MISFIRE_MAX_RUNS,
        preceding(cron, interval, stored),
    )


def _enqueue_ticks(definition: Definition, ticks: list[datetime], alias: str) -> None:
    """One job per tick, ``scheduled_for`` the tick (a tick enqueued already is skipped)."""
    request = EnqueueRequest(definition)
    jobs = [request.build((), {}, None) for _ in ticks]
    for job, tick in zip(jobs, ticks):
        job.scheduled_for = tick
    after_enqueue(write_jobs(jobs, alias, "return", skip_conflicts=True), alias)
