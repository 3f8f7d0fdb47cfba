"""The dashboard page of the control room, and the fragment its script reloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from django_jobs.admin import chart, display, stats

#: Seconds between reloads of the live part of the page (``?refresh=`` changes it).
REFRESH_SECONDS = 5


def refresh_seconds(request: HttpRequest) -> int:
    """``?refresh=N`` (1 to 300 seconds), or the default; anything else is ignored."""
    try:
        seconds = int(request.GET.get("refresh", REFRESH_SECONDS))
    except (TypeError, ValueError, OverflowError):
        return REFRESH_SECONDS
    return max(1, min(seconds, 300))


def live_context() -> dict[str, Any]:
    """What the live fragment shows: a fresh snapshot, its chart and the ages in words."""
    snapshot = stats.snapshot()
    now = snapshot.now
    return {
        "snapshot": snapshot,
        "chart": chart.build(snapshot.buckets),
        "oldest_age": display.ago(snapshot.oldest_queued_at, now),
        "queue_rows": [queue_row(queue, now) for queue in snapshot.queues],
        "worker_rows": [
            {
                "worker": worker,
                "url": display.admin_url("worker", worker.pk),
                "running": running,
                "heartbeat": display.ago(worker.heartbeat_at, now),
            }
            for worker, running in snapshot.workers
        ],
    }


def queue_row(queue: stats.QueueStats, now: datetime) -> dict[str, Any]:
    """One queue's line of the table, as text (capped counts say "more than 10,000")."""
    return {
        "name": queue.name,
        "paused": queue.paused,
        "scheduled": display.capped(queue.scheduled),
        "queued": display.capped(queue.queued),
        "running": display.capped(queue.running),
        "succeeded": queue.succeeded,
        "failed": queue.failed,
        "oldest": display.ago(queue.oldest_queued_at, now),
    }


def _check(model_admin: admin.ModelAdmin[Any], request: HttpRequest) -> None:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied


def page(model_admin: admin.ModelAdmin[Any], request: HttpRequest) -> HttpResponse:
    """The whole dashboard page, inside the admin's layout."""
    _check(model_admin, request)
    context = {
        **model_admin.admin_site.each_context(request),
        **live_context(),
        "title": "Jobs dashboard",
        "opts": model_admin.opts,
        "live_url": reverse(f"{model_admin.admin_site.name}:django_jobs_dashboard_live"),
        "refresh_seconds": refresh_seconds(request),
    }
    return TemplateResponse(request, "django_jobs/admin/dashboard.html", context)


def live(model_admin: admin.ModelAdmin[Any], request: HttpRequest) -> HttpResponse:
    """Only the numbers, the chart and the tables: what the page's script swaps in."""
    _check(model_admin, request)
    return TemplateResponse(request, "django_jobs/admin/dashboard_live.html", live_context())
