"""A first, read-only view of every model in the Django admin (presentation only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from django_jobs.models import DeadLetter, Job, JobAttempt, Queue, Role, Schedule, Worker


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows change through model methods and the worker, never by editing them here."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class JobAttemptInline(admin.TabularInline):
    model = JobAttempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "outcome",
        "worker",
        "started_at",
        "finished_at",
        "error_type",
        "error_message",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "name",
        "version",
        "queue",
        "state",
        "priority",
        "attempts",
        "run_at",
        "finished_at",
    )
    list_filter = ("state", "queue")
    search_fields = ("=id", "=key", "name")
    inlines = [JobAttemptInline]


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ("job", "name", "failed_at", "reason", "resubmitted_job")
    list_filter = ("name",)


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = ("id", "hostname", "pid", "state", "concurrency", "heartbeat_at")


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "cron", "interval_seconds", "next_run_at", "runs", "enabled")


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "paused",
        "max_concurrent",
        "rate_numerator",
        "rate_denominator",
        "rate_period",
    )
    exclude = ("rate_allowance", "rate_checked_at")


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    filter_horizontal = ("queues",)
