"""Which query-string lookups a change list accepts: only those its own filters use.

Django's default ``lookup_allowed`` lets any lookup on a model's own fields through, so a
hand-written ``?claim_token__startswith=0`` filters on a hidden field, ``?last_error__icontains=x``
scans a whole table and ``?args__contains=x`` is a server error on SQLite. A django_jobs change
list accepts the parameters of its ``list_filter`` (and the ``extra_lookups`` its own links use);
any other one is dropped, with a message, by redirecting to the same list without it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.views.main import (
    ALL_VAR,
    ERROR_FLAG,
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    TO_FIELD_VAR,
)
from django.http import HttpRequest, HttpResponseRedirect

#: Parameters of the change list itself (paging, order, search, popups), never lookups.
CHANGELIST_PARAMETERS = frozenset(
    {
        ALL_VAR,
        ERROR_FLAG,
        IS_FACETS_VAR,
        IS_POPUP_VAR,
        ORDER_VAR,
        PAGE_VAR,
        SEARCH_VAR,
        TO_FIELD_VAR,
    }
)


def filter_parameters(model_admin: Any, request: HttpRequest) -> frozenset[str]:
    """Every query parameter the ``list_filter`` of ``model_admin`` reads."""
    names = set(getattr(model_admin, "extra_lookups", ()))
    for item in model_admin.get_list_filter(request):
        if isinstance(item, type) and issubclass(item, admin.ListFilter):
            names.add(getattr(item, "parameter_name", None) or "")
            continue
        field_path, make = (
            item if isinstance(item, (list, tuple)) else (item, admin.FieldListFilter.create)
        )
        field = get_fields_from_path(model_admin.model, field_path)[-1]
        spec = make(field, request, {}, model_admin.model, model_admin, field_path=field_path)
        names.update(spec.expected_parameters())
    names.discard("")
    return frozenset(names)


def drop_unknown_lookups(model_admin: Any, request: HttpRequest) -> HttpResponseRedirect | None:
    """A redirect to the list without the lookups it does not offer, or ``None``."""
    allowed = filter_parameters(model_admin, request) | CHANGELIST_PARAMETERS
    unknown = sorted(name for name in request.GET if name not in allowed)
    if not unknown:
        return None
    query = request.GET.copy()
    for name in unknown:
        del query[name]
    messages.warning(
        request,
        f"This list cannot be filtered by {', '.join(unknown)}: it was shown without that filter.",
    )
    return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
