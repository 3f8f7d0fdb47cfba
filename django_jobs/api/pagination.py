"""Pages: ``?limit=`` (1 to 500, default 50) with a cursor (jobs) or ``?offset=`` (the rest).

No page ever counts the whole table: one more row than asked is read, and when it exists the
page's ``next`` is the URL of the following page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from django_jobs.api.schema import Field

MAX_LIMIT = 500
MAX_OFFSET = 2_147_483_647

LIMIT = Field(
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    f"Items per page, 1 to {MAX_LIMIT}.",
    default=50,
)
OFFSET = Field(
    {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
    "Items to skip (follow `next` rather than computing it).",
    default=0,
)


def link(request: HttpRequest, **changes: Any) -> str:
    """This request's URL with some query parameters replaced."""
    query = request.GET.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = str(value)
    return f"{request.path}?{query.urlencode()}"


def by_offset(
    request: HttpRequest,
    queryset: QuerySet[Any],
    query: dict[str, Any],
    render: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    limit, offset = query["limit"], query["offset"]
    rows = list(queryset[offset : offset + limit + 1])
    more = len(rows) > limit
    return {
        "results": [render(row) for row in rows[:limit]],
        "next": link(request, offset=offset + limit) if more else None,
    }


def by_cursor(
    request: HttpRequest,
    queryset: QuerySet[Any],
    query: dict[str, Any],
    render: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """Newest first by primary key; the cursor is the last key of the previous page."""
    limit, cursor = query["limit"], query.get("cursor")
    if cursor is not None:
        queryset = queryset.filter(pk__lt=cursor)
    rows = list(queryset.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    page = rows[:limit]
    return {
        "results": [render(row) for row in page],
        "next": link(request, cursor=page[-1].pk) if more else None,
    }
