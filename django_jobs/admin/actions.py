"""Running an admin action row by row, and reporting what changed and what was skipped.

Every action narrows the selection to the rows it may change (``eligible``), calls one model
method per row, and tells the operator "N changed, M skipped (reasons)". A row that changed
between the page load and the action (say, a worker claimed it) is skipped with a reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.formats import number_format

#: Rows one action run changes at most (a "select all" over a million rows stops here).
ACTION_LIMIT = 1000
#: ``eligible`` for an action that may change any row (``Q()`` would exclude nothing).
EVERY_ROW = Q(pk__isnull=False)


class Skip(Exception):
    """Raised by an action step: leave this row alone, for the reason given."""


@dataclass
class Tally:
    """What an action did: rows changed (with notes) and rows skipped (by reason)."""

    changed: int = 0
    notes: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    more_skipped: bool = False
    stopped_early: bool = False

    def add(self, other: Tally) -> None:
        """Fold another tally into this one."""
        self.changed += other.changed
        self.notes.update(other.notes)
        self.skipped.update(other.skipped)
        self.more_skipped |= other.more_skipped
        self.stopped_early |= other.stopped_early

    @property
    def level(self) -> int:
        return messages.SUCCESS if self.changed and not self.skipped else messages.WARNING

    def message(self, label: str) -> str:
        """``"Cancel: 2 changed (1 asked to stop), 1 skipped (1 already succeeded)."``"""
        text = f"{label}: {self.changed} changed{_details(self.notes)}"
        skipped = sum(self.skipped.values())
        more = "more than " if self.more_skipped else ""
        text += f", {more}{skipped} skipped{_details(self.skipped)}."
        if self.stopped_early:
            limit = number_format(ACTION_LIMIT, force_grouping=True)
            text += f" Stopped after {limit} rows: run the action again for the rest."
        return text


def _details(reasons: Counter[str]) -> str:
    if not reasons:
        return ""
    return " (" + "; ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())) + ")"


def apply(
    queryset: QuerySet[Any],
    eligible: Q,
    step: Callable[[Any], str],
    why_not: Callable[[Any], str],
    *,
    limit: int = ACTION_LIMIT,
) -> Tally:
    """Call ``step`` on each eligible row of ``queryset``; count the others as skipped.

    ``step`` returns a note ("" for none) or raises :class:`Skip`; ``why_not`` gives the
    reason an ineligible row is skipped. At most ``limit`` rows of each kind are read.
    """
    tally = skipped_rows(queryset, eligible, why_not, limit=limit)  # before any change
    rows = list(queryset.filter(eligible)[: limit + 1])
    tally.stopped_early = len(rows) > limit
    for row in rows[:limit]:
        try:
            note = step(row)
        except Skip as skip:
            tally.skipped[str(skip)] += 1
            continue
        tally.changed += 1
        if note:
            tally.notes[note] += 1
    return tally


def skipped_rows(
    queryset: QuerySet[Any],
    eligible: Q,
    why_not: Callable[[Any], str],
    *,
    limit: int = ACTION_LIMIT,
) -> Tally:
    """The rows of ``queryset`` outside ``eligible``, counted by reason (``limit`` read)."""
    tally = Tally()
    others = list(queryset.exclude(eligible)[: limit + 1])
    tally.more_skipped = len(others) > limit
    tally.skipped.update(why_not(row) for row in others[:limit])
    return tally


def report(
    model_admin: admin.ModelAdmin[Model], request: HttpRequest, label: str, tally: Tally
) -> None:
    """Show the tally as the admin message of this request."""
    model_admin.message_user(request, tally.message(label), tally.level)


def delete_eligible(
    model_admin: admin.ModelAdmin[Model],
    request: HttpRequest,
    queryset: QuerySet[Any],
    eligible: Q,
    why_not: Callable[[Any], str],
) -> HttpResponse | None:
    """Django's "delete selected" (confirmation page first), narrowed to ``eligible`` rows.

    The confirmation page lists only the eligible rows (at most ``ACTION_LIMIT``) and a
    message says what was skipped; the confirmed deletion reports "N changed, M skipped".
    """
    tally = skipped_rows(queryset, eligible, why_not)
    pks = list(queryset.filter(eligible).values_list("pk", flat=True)[: ACTION_LIMIT + 1])
    tally.stopped_early = len(pks) > ACTION_LIMIT
    chosen = queryset.model._default_manager.using(queryset.db).filter(pk__in=pks[:ACTION_LIMIT])
    if not request.POST.get("post"):
        if tally.skipped or not pks:
            report(model_admin, request, "Delete", tally)
        return delete_selected(model_admin, request, chosen) if pks else None
    _, _, perms_needed, protected = model_admin.get_deleted_objects(chosen, request)
    if protected:
        return delete_selected(model_admin, request, chosen)
    if perms_needed:
        raise PermissionDenied
    tally.changed = len(pks[:ACTION_LIMIT])
    model_admin.log_deletions(request, chosen)
    model_admin.delete_queryset(request, chosen)
    report(model_admin, request, "Delete", tally)
    return None
