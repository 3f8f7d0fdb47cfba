"""Structured log lines with stable event names, on the ``django_jobs`` logger.

Each line reads ``<event> key=value ...`` and carries the same fields in ``record.jobs``
(a dict) and as ``record.event``, for formatters that emit JSON. Event names are stable:
``job.started``, ``job.succeeded``, ``job.failed``, ``job.retried``, ``job.dead_lettered``,
``job.cancelled``, ``job.fenced`` (a late outcome dropped), and the ``worker.*`` events.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("django_jobs")


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    if not logger.isEnabledFor(level):
        return
    text = " ".join(f"{k}={_fmt(v)}" for k, v in fields.items() if v is not None)
    logger.log(level, "%s %s", event, text, extra={"event": event, "jobs": fields})


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    text = str(value)
    return repr(text) if (" " in text or not text) else text


def job_fields(job: Any) -> dict[str, Any]:
    return {
        "job": job.pk,
        "name": job.name,
        "version": job.version,
        "queue": job.queue,
        "attempt": job.attempts,
    }
