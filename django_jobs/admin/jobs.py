"""The Job admin: the list, a read-only detail page, and the operator actions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from django_jobs import states, tracing
from django_jobs.admin import dashboard, display
from django_jobs.admin.actions import Skip, apply, delete_eligible, report
from django_jobs.admin.base import JobsModelAdmin, ReadOnlyMixin, time_field
from django_jobs.admin.filters import CreatedFilter, DefinitionFilter, QueueFilter
from django_jobs.conf import jobs_settings
from django_jobs.exceptions import InvalidTransition, UnknownJob
from django_jobs.ids import parse_job_id
from django_jobs.models import Job
from django_jobs.states import State

FINISHED = Q(state__in=states.FINISHED_STATES)


class JobPermissions:
    """The custom permissions of SPEC §7, for the actions of any admin that uses them."""

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_jobs.cancel_job")

    def has_resubmit_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_jobs.resubmit_job")


def cancel_one(job: Job) -> str:
    """Cancel a waiting job, or ask the worker of a running one to stop it."""
    if job.state == State.RUNNING and job.cancel_requested_at is not None:
        raise Skip("running, already asked to stop")
    try:
        cancelled = job.cancel()
    except InvalidTransition:
        raise Skip("finished meanwhile") from None
    return "" if cancelled else "running: asked to stop"


def resubmit_one(job: Job) -> str:
    """Enqueue a copy of a finished job."""
    try:
        copy = job.resubmit()
    except UnknownJob:
        raise Skip(display.UNKNOWN_DEFINITION) from None
    if not getattr(copy, "_inserted", True):
        raise Skip("an active job holds its key")
    return ""


def run_now_one(job: Job) -> str:
    """Make a scheduled job (or a retry waiting out its backoff) ready now."""
    if not job.run_now():
        raise Skip("no longer scheduled")
    return "retry run early" if job.attempts else ""


@admin.register(Job)
class JobAdmin(JobPermissions, ReadOnlyMixin, JobsModelAdmin):
    change_list_template = "django_jobs/admin/job_change_list.html"
    list_display = (
        "job_id",
        "state_badge",
        "queue_name",
        "definition",
        "attempts_display",
        "run_at_display",
        "duration",
        "progress_bar",
    )
    list_filter = ("state", QueueFilter, DefinitionFilter, CreatedFilter)
    #: The worker pages link to a worker's running jobs with these.
    extra_lookups = ("worker", "worker__startswith")
    search_fields = ("=id", "=key", "name")
    search_help_text = "A job id (UUID or ULID), a key, or part of a definition name."
    sortable_by = ("job_id",)  # any other order would sort the whole table
    actions = ["cancel_jobs", "resubmit_jobs", "run_now_jobs", "delete_selected"]
    fieldsets = [
        (
            None,
            {"fields": ("id", "definition", "queue", "state_badge", "priority", "progress_bar")},
        ),
        (
            "Identity",
            {
                "fields": (
                    "key",
                    "group_key",
                    "resubmitted_from_link",
                    "dead_letter_link",
                    "trace",
                )
            },
        ),
        (
            "Times",
            {
                "fields": (
                    ("created_at_display", "run_at_display"),
                    ("started_at_display", "finished_at_display"),
                    ("heartbeat_at_display", "worker"),
                    "durations",
                    (
                        "cancel_requested_at_display",
                        "expires_at_display",
                        "scheduled_for_display",
                    ),
                )
            },
        ),
        ("Arguments", {"fields": ("arguments", "keyword_arguments", "metadata")}),
        ("Outcome", {"fields": ("result_display", "last_error_display", "traceback")}),
        ("Attempt history", {"fields": ("attempts_display", "attempt_history")}),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        """A waiting or running job is cancelled, not deleted (its worker would lose it)."""
        if obj is not None and obj.state in states.ACTIVE_STATES:
            return False
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return flatten_fieldsets(self.fieldsets)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("dashboard/", view(self.dashboard_view), name="django_jobs_dashboard"),
            path("dashboard/live/", view(self.live_view), name="django_jobs_dashboard_live"),
            *super().get_urls(),
        ]

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        return dashboard.page(self, request)

    def live_view(self, request: HttpRequest) -> HttpResponse:
        return dashboard.live(self, request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Job], search_term: str
    ) -> tuple[QuerySet[Job], bool]:
        """An id finds that job; other text matches a key exactly or a definition name."""
        term = search_term.replace("\x00", "").strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(pk=parse_job_id(term)), False
        except ValueError:
            pass
        return queryset.filter(Q(key=term[:255]) | Q(name__icontains=term[:200])), False

    # --- columns -----------------------------------------------------------------------------

    @admin.display(description="job", ordering="id")
    def job_id(self, job: Job) -> SafeString:
        return display.short_id(job.pk)

    @admin.display(description="state")
    def state_badge(self, job: Job) -> SafeString:
        if job.state == State.RUNNING and job.cancel_requested_at:
            return display.badge("running, cancel requested", "cancelling")
        return display.badge(job.state, job.state)

    @admin.display(description="queue")
    def queue_name(self, job: Job) -> SafeString:
        return display.breakable(job.queue)

    @admin.display(description="definition")
    def definition(self, job: Job) -> SafeString:
        return display.definition_label(job.name, job.version)

    @admin.display(description="attempts")
    def attempts_display(self, job: Job) -> str:
        return f"{job.attempts} of {job.max_attempts}"

    run_at_display = time_field("run_at")

    @admin.display(description="duration")
    def duration(self, job: Job) -> str:
        if job.state == State.RUNNING and job.started_at:
            return display.duration(timezone.now() - job.started_at)
        return display.duration(job.run_duration)

    @admin.display(description="progress")
    def progress_bar(self, job: Job) -> SafeString | str:
        return display.progress_bar(job.progress)

    # --- detail ------------------------------------------------------------------------------

    created_at_display = time_field("created_at")
    started_at_display = time_field("started_at")
    finished_at_display = time_field("finished_at")
    heartbeat_at_display = time_field("heartbeat_at")
    cancel_requested_at_display = time_field("cancel_requested_at")
    expires_at_display = time_field("expires_at")
    scheduled_for_display = time_field("scheduled_for")

    @admin.display(description="durations")
    def durations(self, job: Job) -> str:
        return (
            f"waited {display.duration(job.wait_duration)}, "
            f"ran {display.duration(job.run_duration)}, "
            f"total {display.duration(job.total_duration)}"
        )

    @admin.display(description="arguments")
    def arguments(self, job: Job) -> SafeString:
        return display.pretty_json(job.args)

    @admin.display(description="keyword arguments")
    def keyword_arguments(self, job: Job) -> SafeString:
        return display.pretty_json(job.kwargs)

    @admin.display(description="meta")
    def metadata(self, job: Job) -> SafeString:
        return display.pretty_json(job.meta)

    @admin.display(description="result")
    def result_display(self, job: Job) -> SafeString:
        return display.pretty_json(job.result)

    @admin.display(description="last error")
    def last_error_display(self, job: Job) -> SafeString | str:
        return display.preformatted(job.last_error)

    @admin.display(description="traceback")
    def traceback(self, job: Job) -> SafeString | str:
        last = job.attempt_history.exclude(traceback="").order_by("-number").first()
        return display.preformatted(last.traceback if last else "")

    @admin.display(description="attempts")
    def attempt_history(self, job: Job) -> SafeString | str:
        return display.attempt_history(job.attempt_history.order_by("number"))

    @admin.display(description="resubmitted from")
    def resubmitted_from_link(self, job: Job) -> SafeString | str:
        return display.admin_link("job", job.resubmitted_from, job.resubmitted_from)

    @admin.display(description="dead letter")
    def dead_letter_link(self, job: Job) -> SafeString | str:
        letter = getattr(job, "dead_letter", None) if job.state == State.FAILED else None
        if letter is None:
            return display.EMPTY
        return display.admin_link("deadletter", letter.pk, format_html("{}", letter.reason))

    @admin.display(description="trace")
    def trace(self, job: Job) -> SafeString | str:
        """The trace id of the enqueue (``meta["traceparent"]``), linked to ``TRACE_URL``."""
        trace_id = tracing.trace_id(job.meta)
        if trace_id is None:
            return display.EMPTY
        template = jobs_settings.TRACE_URL
        if template is None:
            return format_html("<code>{}</code>", trace_id)
        url = template.format(trace_id=trace_id)
        return format_html('<a href="{}"><code>{}</code></a>', url, trace_id)

    # --- actions -----------------------------------------------------------------------------

    @admin.action(description="Cancel selected jobs", permissions=["cancel"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        active = Q(state__in=states.ACTIVE_STATES)
        tally = apply(queryset, active, cancel_one, lambda job: f"already {job.state}")
        report(self, request, "Cancel", tally)

    @admin.action(
        description="Retry now / resubmit selected finished jobs", permissions=["resubmit"]
    )
    def resubmit_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        tally = apply(queryset, FINISHED, resubmit_one, lambda job: f"{job.state}, not finished")
        report(self, request, "Resubmit", tally)

    @admin.action(description="Run selected scheduled jobs now", permissions=["resubmit"])
    def run_now_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        scheduled = Q(state=State.SCHEDULED)
        tally = apply(queryset, scheduled, run_now_one, lambda job: f"{job.state}, not scheduled")
        report(self, request, "Run now", tally)

    @admin.action(description="Delete selected finished jobs", permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Job]) -> Any:
        return delete_eligible(
            self, request, queryset, FINISHED, lambda job: f"{job.state}: cancel it first"
        )
