"""Structured log lines with stable event names, on the ``django_jobs`` logger.

Each line reads ``<event> key=value ...`` and carries the same fields in ``record.jobs``
(a dict) and as ``record.event``, for formatters that emit JSON. Event names are stable:
``job.started``, ``job.succeeded``, ``job.failed``, ``job.retried``, ``job.dead_lettered``,
``job.cancelled``, ``job.fenced`` (a late outcome dropped), and the ``worker.*`` events.
"""

from __future__ import annotations

import logging
from typing import Any

from django_jobs import tracing

logger = logging.getLogger("django_jobs")

#: Longest value a log line shows (an error message is cut there); ``record.jobs`` keeps the
#: whole value for formatters that want it.
MAX_VALUE_LENGTH = 500


def logging_at(level: int) -> bool:
    """Whether a line at ``level`` would be logged: a hot path skips building its fields."""
    return logger.isEnabledFor(level)


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """With tracing on (``django_jobs.tracing``), a line logged while a span is current ends
    with its ``trace_id`` and ``span_id``; a job's fields carry its attempt's own ids."""
    if not logger.isEnabledFor(level):
        return
    if tracing.ENABLED and "trace_id" not in fields:
        ids = tracing.current_ids()
        if ids is not None:
            fields["trace_id"], fields["span_id"] = ids
    text = " ".join(f"{k}={_fmt(v)}" for k, v in fields.items() if v is not None)
    logger.log(level, "%s %s", event, text, extra={"event": event, "jobs": fields})


def _fmt(value: Any) -> str:
    """A value as it appears after ``key=``: bare when plainly printable, else quoted.

    Quoting uses ``repr``, which escapes every character that is not printable (newlines,
    tabs, control and separator characters), so one event is always one line and a value
    cannot forge another event or field.
    """
    if isinstance(value, float):
        return f"{value:.3f}"
    text = str(value)
    if len(text) > MAX_VALUE_LENGTH:
        cut = len(text) - MAX_VALUE_LENGTH
        text = f"{text[:MAX_VALUE_LENGTH]}...[{cut} more characters]"
    return text if _is_bare(text) else repr(text)


def _is_bare(text: str) -> bool:
    return bool(text) and text.isprintable() and not any(c in _QUOTED for c in text)


#: Characters that make a printable value quoted: a space splits fields, quotes would be
#: ambiguous with the quoting itself.
_QUOTED = frozenset(" '\"")


def job_fields(job: Any) -> dict[str, Any]:
    return {
        "job": job.pk,
        "name": job.name,
        "version": job.version,
        "queue": job.queue,
        "attempt": job.attempts,
        # Set by the attempt's span: a success written later, in a batch, logs its ids too.
        **getattr(job, "_trace_ids", {}),
    }
