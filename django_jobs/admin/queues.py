"""The Queue admin (pause / resume, limits, jobs per state) and the Role admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import connections
from django.db.models import Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from django_jobs.admin import display
from django_jobs.admin.actions import Skip, apply, report
from django_jobs.admin.base import JobsModelAdmin, time_field
from django_jobs.admin.counts import capped_subquery_count
from django_jobs.conf import jobs_settings
from django_jobs.models import Job, Queue, Role
from django_jobs.states import State

COUNTED_STATES = (State.SCHEDULED, State.QUEUED, State.RUNNING)


def jobs_link(queue: Queue, state: str) -> SafeString:
    """The capped count of ``queue``'s jobs in ``state``, linked to that list of jobs."""
    url = reverse("admin:django_jobs_job_changelist")
    query = urlencode({"queue": queue.name, "state__exact": state})
    return format_html('<a href="{}?{}">{}</a>', url, query, display.capped(getattr(queue, state)))


def pauser(pause: bool) -> Any:
    """An action step that pauses (or resumes) one queue."""

    def step(queue: Queue) -> str:
        if not (queue.pause() if pause else queue.resume()):
            raise Skip("changed meanwhile")
        return ""

    return step


@admin.register(Queue)
class QueueAdmin(JobsModelAdmin):
    list_display = ("name", "status", "max_concurrent", "rate", "scheduled", "queued", "running")
    list_filter = ("paused",)
    search_fields = ("name",)
    actions = ["pause_queues", "resume_queues"]
    fields = (
        "name",
        "status",
        "max_concurrent",
        ("rate_numerator", "rate_denominator", "rate_period"),
        ("scheduled", "queued", "running"),
        ("created_at_display", "updated_at_display"),
    )
    created_at_display = time_field("created_at")
    updated_at_display = time_field("updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Queue]:
        """Queues with their jobs per waiting or running state (capped counts, one query)."""
        alias = jobs_settings.DATABASE
        quote = connections[alias].ops.quote_name
        outer = f"{quote(Queue._meta.db_table)}.{quote('name')}"
        counts = {
            state: capped_subquery_count(
                Job, outer, "c.state = %s AND c.queue = {outer}", (state,), using=alias
            )
            for state in COUNTED_STATES
        }
        return super().get_queryset(request).annotate(**counts)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = (
            "status",
            "scheduled",
            "queued",
            "running",
            "created_at_display",
            "updated_at_display",
        )
        return ("name", *fixed) if obj is not None else fixed

    def save_model(self, request: HttpRequest, obj: Queue, form: ModelForm, change: bool) -> None:
        """Write only the limits that were edited: workers update the rest of the row."""
        if change:
            if form.changed_data:
                obj.save(update_fields=[*form.changed_data, "updated_at"])
            return
        super().save_model(request, obj, form, change)

    @admin.display(description="status")
    def status(self, queue: Queue) -> SafeString:
        return (
            display.badge("paused", "paused") if queue.paused else display.badge("active", "active")
        )

    @admin.display(description="rate limit")
    def rate(self, queue: Queue) -> str:
        if queue.rate_numerator is None or not queue.rate_period:
            return display.EMPTY
        per = "" if queue.rate_denominator == 1 else f"{queue.rate_denominator} "
        return f"{queue.rate_numerator} per {per}{queue.rate_period}"

    @admin.display(description="scheduled")
    def scheduled(self, queue: Queue) -> SafeString | str:
        return jobs_link(queue, State.SCHEDULED) if queue.pk else display.EMPTY

    @admin.display(description="queued")
    def queued(self, queue: Queue) -> SafeString | str:
        return jobs_link(queue, State.QUEUED) if queue.pk else display.EMPTY

    @admin.display(description="running")
    def running(self, queue: Queue) -> SafeString | str:
        return jobs_link(queue, State.RUNNING) if queue.pk else display.EMPTY

    @admin.action(description="Pause selected queues", permissions=["change"])
    def pause_queues(self, request: HttpRequest, queryset: QuerySet[Queue]) -> None:
        tally = apply(queryset, Q(paused=False), pauser(True), lambda _: "already paused")
        report(self, request, "Pause", tally)

    @admin.action(description="Resume selected queues", permissions=["change"])
    def resume_queues(self, request: HttpRequest, queryset: QuerySet[Queue]) -> None:
        tally = apply(queryset, Q(paused=True), pauser(False), lambda _: "not paused")
        report(self, request, "Resume", tally)


@admin.register(Role)
class RoleAdmin(JobsModelAdmin):
    list_display = ("name", "queue_names", "description", "updated_at_display")
    search_fields = ("name",)
    filter_horizontal = ("queues",)
    fields = ("name", "description", "queues")
    updated_at_display = time_field("updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Role]:
        return super().get_queryset(request).prefetch_related("queues")

    @admin.display(description="queues")
    def queue_names(self, role: Role) -> str:
        return ", ".join(sorted(q.name for q in role.queues.all())) or display.EMPTY
