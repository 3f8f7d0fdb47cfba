"""The Worker admin: alive or dead, what each runs now, when it was last heard from."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import CharField, Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from django_jobs.admin import display
from django_jobs.admin.actions import delete_eligible
from django_jobs.admin.base import JobsModelAdmin, ReadOnlyMixin, flat, time_field
from django_jobs.admin.filters import AliveFilter
from django_jobs.conf import jobs_settings
from django_jobs.models import Job, Worker, WorkerState
from django_jobs.states import State


def alive_q() -> Q:
    """Workers heard from within ``DJANGO_JOBS_WORKER_TIMEOUT``."""
    since = timezone.now() - timedelta(seconds=jobs_settings.WORKER_TIMEOUT)
    return Q(state__in=[WorkerState.RUNNING, WorkerState.STOPPING], heartbeat_at__gte=since)


def running_count() -> Coalesce:
    """Jobs running on each worker (a supervisor counts its processes' jobs)."""
    own = Q(worker=OuterRef("pk")) | Q(
        worker__startswith=Concat(OuterRef("pk"), Value("/"), output_field=CharField())
    )
    jobs = (
        Job.objects.filter(own, state=State.RUNNING)
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(jobs[:1]), 0)


@admin.register(Worker)
class WorkerAdmin(ReadOnlyMixin, JobsModelAdmin):
    list_display = (
        "worker_id",
        "alive",
        "state",
        "host",
        "pid",
        "serves",
        "processes",
        "heartbeat",
        "current_jobs",
    )
    list_filter = (AliveFilter, "state")
    search_fields = ("id", "hostname", "name")
    sortable_by = ("heartbeat",)
    actions = ["delete_selected"]
    fields = (
        "id",
        "alive",
        "state",
        "supervisor",
        ("hostname", "pid"),
        "serves",
        "concurrency",
        ("started_at_display", "heartbeat", "stopped_at_display"),
        "current_jobs",
        "current_job_list",
    )
    readonly_fields = flat(fields)
    started_at_display = time_field("started_at")
    stopped_at_display = time_field("stopped_at")

    def has_delete_permission(self, request: HttpRequest, obj: Worker | None = None) -> bool:
        """A live worker keeps its row: it heartbeats it."""
        if obj is not None and obj.is_alive:
            return False
        return super().has_delete_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Worker]:
        return super().get_queryset(request).annotate(running=running_count())

    @admin.display(description="id")
    def worker_id(self, worker: Worker) -> SafeString:
        return display.breakable(worker.pk)

    @admin.display(description="hostname")
    def host(self, worker: Worker) -> SafeString:
        return display.breakable(worker.hostname)

    @admin.display(description="processes")
    def processes(self, worker: Worker) -> int:
        """How many jobs the worker runs at once (``--concurrency``)."""
        return worker.concurrency

    @admin.display(description="alive")
    def alive(self, worker: Worker) -> SafeString:
        if worker.is_alive:
            return display.badge("alive", "alive")
        if worker.state == WorkerState.STOPPED:
            return display.badge("stopped", "stopped")
        return display.badge("dead", "dead")

    @admin.display(description="serves")
    def serves(self, worker: Worker) -> str:
        if worker.role:
            return f"role {worker.role}"
        return ", ".join(str(q) for q in worker.queues) if worker.queues else "every queue"

    @admin.display(description="last heartbeat", ordering="heartbeat_at")
    def heartbeat(self, worker: Worker) -> SafeString | str:
        return display.moment(worker.heartbeat_at)

    @admin.display(description="current jobs")
    def current_jobs(self, worker: Worker) -> SafeString | str:
        count = getattr(worker, "running", 0)
        if not count:
            return "0"
        url = reverse("admin:django_jobs_job_changelist")
        mine = (
            {"worker": worker.pk}
            if worker.supervisor_id
            else {"worker__startswith": f"{worker.pk}/"}
        )
        query = urlencode({**mine, "state__exact": State.RUNNING})
        return format_html('<a href="{}?{}">{}</a>', url, query, count)

    @admin.display(description="running now")
    def current_job_list(self, worker: Worker) -> SafeString | str:
        jobs = list(worker.running_jobs().order_by("started_at")[:100])
        if not jobs:
            return display.EMPTY
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}: {}, started {}</li>",
                (
                    (display.admin_link("job", j.pk, j.pk), j.name, display.ago(j.started_at))
                    for j in jobs
                ),
            ),
        )

    @admin.action(description="Delete selected dead or stopped workers", permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Worker]) -> Any:
        return delete_eligible(
            self, request, queryset, ~alive_q(), lambda _: "alive: stop it first"
        )
