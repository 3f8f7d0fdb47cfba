"""A job's error text as it may be logged and stored: the project's redaction hook applied.

``DJANGO_JOBS_REDACT`` names a callable ``(text) -> text``; the worker passes every error
message and traceback of a job through it before writing it to a log line, ``last_error``, an
attempt row or a dead letter. A hook that fails withholds the text instead of leaking it.
"""

from __future__ import annotations

from django_jobs.conf import jobs_settings


def redact(text: str) -> str:
    """``text`` through ``DJANGO_JOBS_REDACT`` (unchanged when no hook is set)."""
    hook = jobs_settings.REDACT
    if hook is None or not text:
        return text
    try:
        redacted = hook(text)
    except Exception as exc:  # a broken hook must not fail the worker nor leak the text
        return f"[error text withheld: DJANGO_JOBS_REDACT raised {type(exc).__name__}]"
    if not isinstance(redacted, str):
        return f"[error text withheld: DJANGO_JOBS_REDACT returned {type(redacted).__name__}]"
    return redacted
