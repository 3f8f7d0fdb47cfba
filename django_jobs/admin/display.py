"""Small HTML pieces of the control room; every user-supplied value goes through escaping."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.admin.utils import quote
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from django_jobs.admin import counts
from django_jobs.models import JobAttempt
from django_jobs.operations import UNKNOWN_DEFINITION
from django_jobs.registry import registry

#: How an empty value looks: the admin's own ``empty_value_display``, on every page.
EMPTY = "-"


def badge(text: str, kind: str) -> SafeString:
    """A coloured label; ``kind`` picks the colour (a state, "alive", "paused", ...)."""
    return format_html('<span class="dj-badge dj-{}">{}</span>', kind, text)


#: Where a long name may break across lines: after a dot, slash, colon or underscore.
NAME_BREAKS = re.compile(r"([./:_])")


def breakable(text: Any) -> SafeString:
    """A long name (definition, queue, worker id, host) that may wrap inside a narrow column.

    Line breaks are offered after its separators (``<wbr>``), so a list column shrinks
    instead of widening the table; the text itself (and a copy and paste of it) is unchanged.
    """
    return mark_safe(NAME_BREAKS.sub(r"\1<wbr>", str(conditional_escape(text))))


def short_id(pk: Any) -> SafeString:
    """A long id cut to its start and end; the whole id in the tooltip."""
    text = str(pk)
    if len(text) <= 16:
        return format_html('<span class="dj-id">{}</span>', text)
    return format_html('<span class="dj-id" title="{}">{}…{}</span>', text, text[:8], text[-4:])


def progress_bar(value: float | None) -> SafeString | str:
    """A bar for a progress between 0 and 1 (``heartbeat(progress=...)``)."""
    if value is None:
        return EMPTY
    percent = max(0, min(100, round(value * 100)))
    return format_html(
        '<span class="dj-progress-cell"><span class="dj-progress" title="{0}%">'
        '<span style="width: {0}%"></span></span> {0}%</span>',
        percent,
    )


def pretty_json(value: Any) -> SafeString:
    """JSON, indented, inside ``<pre>``; escaped like any text."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="dj-pre">{}</pre>', text)


def preformatted(text: str) -> SafeString | str:
    return format_html('<pre class="dj-pre">{}</pre>', text) if text else EMPTY


def duration(span: timedelta | None) -> str:
    """``"850 ms"``, ``"12.3 s"``, ``"4 min 5 s"``, ``"2 h 1 min"``."""
    if span is None:
        return EMPTY
    seconds = span.total_seconds()
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def full_precision(moment: datetime) -> str:
    """ISO 8601 to the microsecond, current time zone: ``2026-03-14T09:26:05.123456+01:00``."""
    return timezone.template_localtime(moment).isoformat(timespec="microseconds")


def when(moment: datetime | None) -> str:
    """A datetime in the current time zone, to the second: ``2026-03-14 09:26:05``."""
    if moment is None:
        return EMPTY
    return f"{timezone.template_localtime(moment):%Y-%m-%d %H:%M:%S}"


def timestamp(moment: datetime | None) -> SafeString | str:
    """``when(moment)`` as a ``<time>``, its full precision as a tooltip.

    Seconds tell apart the attempts of one job; the date and the time may wrap onto two lines
    in a narrow column.
    """
    if moment is None:
        return EMPTY
    date, time = when(moment).split(" ")
    return format_html(
        '<time class="dj-time" datetime="{0}" title="{0}"><span>{1}</span> <span>{2}</span></time>',
        full_precision(moment),
        date,
        time,
    )


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """``"12.0 s ago"``; ``"in 3 min 0 s"`` for a future moment."""
    if moment is None:
        return EMPTY
    span = (now or timezone.now()) - moment
    if span < timedelta(0):
        return f"in {duration(-span)}"
    return f"{duration(span)} ago"


def moment(value: datetime | None) -> SafeString | str:
    """``"3 min 0 s ago"`` / ``"in 2 h 5 min"``, with the full precision as a tooltip."""
    if value is None:
        return EMPTY
    return format_html(
        '<span class="dj-when" title="{}">{}</span>', full_precision(value), ago(value)
    )


def capped(count: int) -> str:
    """A capped count (see ``counts.CAP``) as text: ``"more than 10,000"`` past the cap."""
    if count > counts.CAP:
        return f"more than {number_format(counts.CAP, force_grouping=True)}"
    return number_format(count, force_grouping=True)


def definition_label(name: str, version: int) -> SafeString:
    """``name v2``, flagged when no definition ``(name, version)`` is registered here."""
    if registry.find(name, version) is None:
        return format_html(
            '{} <span class="dj-version">v{}</span> {}',
            breakable(name),
            version,
            badge(UNKNOWN_DEFINITION, "unknown"),
        )
    return format_html('{} <span class="dj-version">v{}</span>', breakable(name), version)


def admin_url(model_name: str, pk: Any) -> str | None:
    """The URL of a django_jobs change page (``None`` if that admin is not installed)."""
    try:
        return reverse(f"admin:django_jobs_{model_name}_change", args=[quote(pk)])
    except NoReverseMatch:
        return None


def admin_link(model_name: str, pk: Any, text: Any) -> SafeString | str:
    """A link to a django_jobs change page, or the plain text when there is none."""
    if pk is None:
        return EMPTY
    url = admin_url(model_name, pk)
    if url is None:
        return str(text)
    return format_html('<a href="{}">{}</a>', url, text)


def attempt_history(attempts: Iterable[JobAttempt]) -> SafeString | str:
    """The attempts of a job as a table, each traceback folded in a ``<details>``."""
    rows = format_html_join(
        "\n",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                a.number,
                badge(a.get_outcome_display(), a.outcome),
                a.worker or EMPTY,
                timestamp(a.started_at),
                duration(a.duration),
                _error(a),
                _traceback(a.traceback),
            )
            for a in attempts
        ),
    )
    if not rows:
        return "No attempt yet."
    return format_html(
        '<table class="dj-attempts"><thead><tr><th>#</th><th>Outcome</th><th>Worker</th>'
        "<th>Started</th><th>Duration</th><th>Error</th><th>Traceback</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        rows,
    )


def _error(attempt: JobAttempt) -> SafeString | str:
    if not attempt.error_type and not attempt.error_message:
        return EMPTY
    return format_html("<code>{}</code> {}", attempt.error_type, attempt.error_message)


def _traceback(text: str) -> SafeString | str:
    if not text:
        return EMPTY
    return format_html(
        '<details><summary>show</summary><pre class="dj-pre">{}</pre></details>', text
    )
