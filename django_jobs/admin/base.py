"""What every django_jobs ModelAdmin shares: cheap counts, clamped pages, tolerant input."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.safestring import SafeString

from django_jobs.admin import display, lookups
from django_jobs.admin.counts import ApproximateCount, count_rows


class CountingPaginator(Paginator):
    """A paginator whose count never scans a big table, and whose pages are never invalid.

    ``count`` comes from :func:`~django_jobs.admin.counts.count_rows`; a page number out of
    range (``?p=0``, ``?p=99999999``, ``?p=x``) shows the nearest page instead of an error.
    """

    def __init__(self, *args: Any, filtered: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filtered = filtered

    @cached_property
    def count(self) -> ApproximateCount:
        return count_rows(self.object_list, filtered=self.filtered)

    def validate_number(self, number: Any) -> int:
        try:
            wanted = int(number)
        except (TypeError, ValueError, OverflowError):
            wanted = 1
        return max(1, min(wanted, self.num_pages))


class ClampedChangeList(ChangeList):
    """A ChangeList that shows the page it rendered (after clamping) and sorts only as allowed.

    Django hides the sort links of columns missing from ``sortable_by`` but still obeys a
    hand-written ``?o=``: here such an order is ignored (it could sort a whole big table).
    """

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.page_num = self.paginator.validate_number(self.page_num)

    def get_ordering_field(self, field_name: Any) -> Any:
        if self.sortable_by is not None and field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)


def flat(fields: tuple[Any, ...]) -> tuple[str, ...]:
    """Admin ``fields`` (names, or tuples of names shown on one line) as a flat tuple."""
    return tuple(name for item in fields for name in (item if isinstance(item, tuple) else (item,)))


def time_field(name: str) -> Callable[[Any, Model], SafeString | str]:
    """A list column or read-only field showing the datetime ``name`` to the second.

    Django shows a ``DateTimeField`` to the minute; this shows ``display.timestamp`` (seconds,
    the full precision as a tooltip). Give it another name than the field's, which Django
    would look up first: ``run_at_display = time_field("run_at")``.
    """

    @admin.display(description=name.replace("_", " "), ordering=name)
    def show(model_admin: Any, obj: Model) -> SafeString | str:
        return display.timestamp(getattr(obj, name))

    return show


def without_nul(query: QueryDict) -> QueryDict:
    """``query`` without NUL characters, which PostgreSQL refuses in any text value."""
    if not any("\x00" in k or any("\x00" in v for v in vs) for k, vs in query.lists()):
        return query
    cleaned = QueryDict(mutable=True)
    for key, values in query.lists():
        cleaned.setlist(key.replace("\x00", ""), [v.replace("\x00", "") for v in values])
    cleaned._mutable = False
    return cleaned


class JobsModelAdmin(admin.ModelAdmin):
    """Base of the django_jobs ModelAdmins: see the module docstring."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts would count the whole table
    list_per_page = 50

    class Media:
        css = {"all": ["django_jobs/admin.css"]}

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> CountingPaginator:
        return CountingPaginator(
            queryset,
            per_page,
            orphans,
            allow_empty_first_page,
            filtered=bool(queryset.query.where),
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ClampedChangeList

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        request.GET = without_nul(request.GET)
        redirect = lookups.drop_unknown_lookups(self, request)
        if redirect is not None:
            return redirect
        return super().changelist_view(request, extra_context)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """Only the parameters of this list's own filters (see ``admin/lookups.py``)."""
        if request is None:
            return False
        return lookup in lookups.filter_parameters(self, request)

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any], **kwargs: Any) -> Any:
        """Drop selected ids that are not ids at all (a hand-made POST) before acting.

        Django 6.1 passes ``action_location=`` (change list or change form); earlier versions
        pass nothing. Whatever the running Django gives is handed on unchanged.
        """
        name = helpers.ACTION_CHECKBOX_NAME
        selected = request.POST.getlist(name)
        valid = [value for value in selected if self._is_pk(value)]
        if len(valid) != len(selected):
            post = request.POST.copy()
            post.setlist(name, valid)
            request.POST = post
        return super().response_action(request, queryset, **kwargs)

    def _is_pk(self, value: str) -> bool:
        try:
            self.opts.pk.to_python(value)
        except (ValidationError, ValueError, TypeError):
            return False
        return "\x00" not in value

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        return super().get_search_results(request, queryset, search_term.replace("\x00", ""))

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Model | None:
        if "\x00" in object_id:
            return None
        return super().get_object(request, object_id, from_field)


class ReadOnlyMixin:
    """Rows change through model methods and the worker, never by editing them here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
