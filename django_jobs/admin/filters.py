"""Changelist filters whose choices never come from scanning the job table.

Django's default filter for a plain field lists ``SELECT DISTINCT`` values of the column:
a full scan of a big table. These filters take their choices from small tables (queues, the
registry, the dead letters' indexed ``name``), and the date filter on jobs turns into a
range of primary keys: job ids are time-ordered (``django_jobs.ids``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.models import DeadLetter, Queue, WorkerState
from django_jobs.registry import registry

#: Choices shown at most by a filter (the search box finds the others).
MAX_CHOICES = 100


class ValueFilter(admin.SimpleListFilter):
    """A filter on one column's exact value, with choices from :meth:`values`."""

    field = ""

    def values(self, request: HttpRequest) -> Iterable[str]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(v, v) for v in self.values(request)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() is None:
            return queryset
        return queryset.filter(**{self.field: self.value()})


class QueueFilter(ValueFilter):
    title = "queue"
    parameter_name = "queue"
    field = "queue"

    def values(self, request: HttpRequest) -> Iterable[str]:
        names = Queue.objects.using(jobs_settings.DATABASE).values_list("name", flat=True)
        return names.order_by("name")[:MAX_CHOICES]


class DefinitionFilter(ValueFilter):
    """Definitions registered in this process (rows of others are found by searching)."""

    title = "definition"
    parameter_name = "definition"
    field = "name"

    def values(self, request: HttpRequest) -> Iterable[str]:
        return sorted({d.name for d in registry.all()})[:MAX_CHOICES]


class DeadLetterDefinitionFilter(DefinitionFilter):
    """Definitions that have dead letters (an index-only scan of ``name``)."""

    def values(self, request: HttpRequest) -> Iterable[str]:
        names = DeadLetter.objects.using(jobs_settings.DATABASE).values_list("name", flat=True)
        return names.order_by("name").distinct()[:MAX_CHOICES]


def uuid_floor(moment: datetime) -> uuid.UUID:
    """The smallest job id created at or after ``moment`` (48 bits of ms, then zeros)."""
    millis = int(moment.timestamp() * 1000)
    return uuid.UUID(int=(millis & ((1 << 48) - 1)) << 80)


class CreatedFilter(admin.SimpleListFilter):
    """When the job was created, as a primary-key range (an index scan, not a table scan)."""

    title = "created"
    parameter_name = "created"
    SPANS = {
        "hour": ("Last hour", timedelta(hours=1)),
        "day": ("Last 24 hours", timedelta(days=1)),
        "week": ("Last 7 days", timedelta(days=7)),
        "month": ("Last 30 days", timedelta(days=30)),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in self.SPANS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        span = self.SPANS.get(self.value() or "")
        if span is None:
            return queryset
        return queryset.filter(pk__gte=uuid_floor(timezone.now() - span[1]))


class AliveFilter(admin.SimpleListFilter):
    """Workers heard from within ``DJANGO_JOBS_WORKER_TIMEOUT``, or not."""

    title = "alive"
    parameter_name = "alive"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "alive"), ("no", "dead or stopped")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() not in ("yes", "no"):
            return queryset
        since = timezone.now() - timedelta(seconds=jobs_settings.WORKER_TIMEOUT)
        alive = {
            "state__in": [WorkerState.RUNNING, WorkerState.STOPPING],
            "heartbeat_at__gte": since,
        }
        return queryset.filter(**alive) if self.value() == "yes" else queryset.exclude(**alive)


class NullFilter(admin.SimpleListFilter):
    """Yes/no on whether ``field`` is set (``resubmitted``, ``skipped``)."""

    field = ""
    labels = ("yes", "no")

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", self.labels[0]), ("no", self.labels[1])]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() not in ("yes", "no"):
            return queryset
        return queryset.filter(**{f"{self.field}__isnull": self.value() == "no"})


class ResubmittedFilter(NullFilter):
    title = "resubmitted"
    parameter_name = "resubmitted"
    field = "resubmitted_at"


class SkippedFilter(NullFilter):
    title = "skipped"
    parameter_name = "skipped"
    field = "skipped_at"
