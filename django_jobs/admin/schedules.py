"""The Schedule admin: enable, disable, re-enable a skipped schedule, run now, next runs,
and how the last run ended."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from django_jobs.admin import display
from django_jobs.admin.actions import Skip, apply, report
from django_jobs.admin.base import JobsModelAdmin, ReadOnlyMixin, flat, time_field
from django_jobs.admin.filters import SkippedFilter
from django_jobs.exceptions import UnknownJob
from django_jobs.models import Schedule
from django_jobs.registry import registry

#: The badge of a schedule whose runs have no job row (``durable=False``).
NOT_DURABLE = "not durable"


def switch(method: str) -> Any:
    """An action step calling ``Schedule.<method>()``, which says whether it changed."""

    def step(schedule: Schedule) -> str:
        if not getattr(schedule, method)():
            raise Skip("changed meanwhile")
        return ""

    return step


def run_now(schedule: Schedule) -> str:
    try:
        schedule.run_now()
    except UnknownJob:
        raise Skip(display.UNKNOWN_DEFINITION) from None
    return ""


def every(seconds: float) -> str:
    """An interval in its largest whole unit: ``"1 h"``, ``"10 min"``, ``"90 s"``, ``"0.5 s"``."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"


def known() -> Q:
    """Schedules whose definition is registered in this process."""
    return Q(name__in=[d.name for d in registry.all() if d.is_recurring])


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyMixin, JobsModelAdmin):
    list_display = (
        "schedule_name",
        "status_badge",
        "timing",
        "next_run",
        "last_run",
        "runs",
        "failures",
        "consecutive_failures",
    )
    list_filter = ("enabled", SkippedFilter, "kind", "durable")
    search_fields = ("name",)
    sortable_by = ("schedule_name", "next_run")
    actions = ["enable_schedules", "disable_schedules", "reenable_schedules", "run_now"]
    fields = (
        "definition",
        "status_badge",
        "timing",
        "misfire",
        ("max_runs", "max_failures", "start_at_display"),
        "next_runs",
        ("last_run_at_display", "last_job"),
        ("last_outcome_badge", "last_duration", "durable_display"),
        "last_error_display",
        ("runs", "failures", "consecutive_failures"),
        ("enabled", "skipped_at_display"),
        ("synced_at_display", "updated_at_display"),
    )
    readonly_fields = flat(fields)
    start_at_display = time_field("start_at")
    last_run_at_display = time_field("last_run_at")
    skipped_at_display = time_field("skipped_at")
    synced_at_display = time_field("synced_at")
    updated_at_display = time_field("updated_at")

    def has_manage_permission(self, request: HttpRequest) -> bool:
        """Turning schedules on and off, and running them, needs ``change_schedule``."""
        return request.user.has_perm("django_jobs.change_schedule")

    @admin.display(description="name", ordering="name")
    def schedule_name(self, schedule: Schedule) -> SafeString:
        return display.breakable(schedule.name)

    @admin.display(description="definition")
    def definition(self, schedule: Schedule) -> SafeString:
        return display.definition_label(schedule.name, schedule.version)

    @admin.display(description="status")
    def status_badge(self, schedule: Schedule) -> SafeString:
        """The status; flagged when its runs are not durable, or no worker knows it here."""
        badges = [display.badge(schedule.status, schedule.status)]
        if not schedule.durable:
            badges.append(display.badge(NOT_DURABLE, "not-durable"))
        if registry.find(schedule.name, schedule.version) is None:
            badges.append(display.badge(display.UNKNOWN_DEFINITION, "unknown"))
        return format_html_join(" ", "{}", ((b,) for b in badges))

    @admin.display(description="schedule")
    def timing(self, schedule: Schedule) -> SafeString | str:
        if schedule.kind == "cron":
            return format_html(
                "<code>{}</code> ({})", schedule.cron, schedule.timezone.replace("_", " ")
            )
        if not schedule.interval_seconds:
            return display.EMPTY
        return f"every {every(schedule.interval_seconds)}"

    @admin.display(description="next run", ordering="next_run_at")
    def next_run(self, schedule: Schedule) -> SafeString | str:
        return display.moment(schedule.next_run_at)

    @admin.display(description="last run", ordering="last_run_at")
    def last_run(self, schedule: Schedule) -> SafeString | str:
        """When runs were last taken, and how the last run that ended ended."""
        if not schedule.last_outcome:
            return display.moment(schedule.last_run_at)
        return format_html(
            "{} {}", display.moment(schedule.last_run_at), self.last_outcome_badge(schedule)
        )

    @admin.display(description="last outcome", ordering="last_outcome")
    def last_outcome_badge(self, schedule: Schedule) -> SafeString | str:
        if not schedule.last_outcome:
            return display.EMPTY
        return display.badge(schedule.last_outcome, schedule.last_outcome)

    @admin.display(description="last duration")
    def last_duration(self, schedule: Schedule) -> str:
        seconds = schedule.last_duration_seconds
        return display.duration(None if seconds is None else timedelta(seconds=seconds))

    @admin.display(description="last error")
    def last_error_display(self, schedule: Schedule) -> SafeString | str:
        return display.preformatted(schedule.last_error)

    @admin.display(description="durable", ordering="durable")
    def durable_display(self, schedule: Schedule) -> str:
        """``no``: each run is run by the worker that takes its tick, with no job row."""
        return "yes" if schedule.durable else "no"

    @admin.display(description="next runs")
    def next_runs(self, schedule: Schedule) -> SafeString | str:
        runs = schedule.next_runs(5)
        if not runs:
            return display.EMPTY
        items = format_html_join(
            "", "<li>{} ({})</li>", ((display.timestamp(r), display.ago(r)) for r in runs)
        )
        return format_html('<ol class="dj-next-runs">{}</ol>', items)

    @admin.display(description="last job")
    def last_job(self, schedule: Schedule) -> SafeString | str:
        return display.admin_link("job", schedule.last_job_id, schedule.last_job_id)

    @admin.action(description="Enable selected schedules", permissions=["manage"])
    def enable_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        tally = apply(queryset, Q(enabled=False), switch("enable"), lambda _: "already enabled")
        report(self, request, "Enable", tally)

    @admin.action(description="Disable selected schedules", permissions=["manage"])
    def disable_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        tally = apply(queryset, Q(enabled=True), switch("disable"), lambda _: "already disabled")
        report(self, request, "Disable", tally)

    @admin.action(
        description="Re-enable selected skipped schedules (reset failures)", permissions=["manage"]
    )
    def reenable_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        skipped = Q(skipped_at__isnull=False)
        tally = apply(queryset, skipped, switch("reenable"), lambda _: "not skipped")
        report(self, request, "Re-enable", tally)

    @admin.action(description="Run selected schedules now", permissions=["manage"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        tally = apply(queryset, known(), run_now, lambda _: display.UNKNOWN_DEFINITION)
        report(self, request, "Run now", tally)
