"""The API's settings, from ``django_jobs.conf`` (validated there, read at access time)."""

from __future__ import annotations

from django_jobs.conf import jobs_settings


def max_body_bytes() -> int:
    """``DJANGO_JOBS_API_MAX_BODY_BYTES``: larger request bodies get 413."""
    return int(jobs_settings.API_MAX_BODY_BYTES)


def token_max_age() -> float | None:
    """``DJANGO_JOBS_API_TOKEN_MAX_AGE``: seconds a token stays valid (``None``: until the
    user's password changes)."""
    value = jobs_settings.API_TOKEN_MAX_AGE
    return None if value is None else float(value)
