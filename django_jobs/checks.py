"""System checks. Every id is listed, with its fix, in docs/reference/checks.md.

* ``django_jobs.E001`` a ``DJANGO_JOBS_*`` setting has an invalid value
* ``django_jobs.E002`` ``DJANGO_JOBS_DATABASE`` names a database alias that does not exist
* ``django_jobs.E004`` the jobs database is of an unsupported kind
* ``django_jobs.W001`` an unknown ``DJANGO_JOBS_*`` setting (a typo?)
* ``django_jobs.W002`` inline mode is on while ``DEBUG`` is off
* ``django_jobs.W003`` PostgreSQL through psycopg2: LISTEN/NOTIFY off, workers only poll
* ``django_jobs.E010`` a job definition has an invalid option (found in a ``jobs.py``)
* ``django_jobs.E011`` two job definitions share one ``(name, version)``
* ``django_jobs.E012`` a job definition's schedule is invalid (cron, misfire, arguments)
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connections

from django_jobs.conf import PREFIX, SETTINGS, invalid_settings, unknown_settings
from django_jobs.registry import registry

DOCS = "see docs/reference/checks.md"
SUPPORTED_VENDORS = ("postgresql", "sqlite", "mysql")


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    messages: list[Any] = []
    for name, problem in invalid_settings():
        messages.append(
            Error(
                f"{name} {problem}.",
                hint=f"{SETTINGS[name[len(PREFIX) :]].doc} ({DOCS})",
                id="django_jobs.E001",
            )
        )
    for name, close in unknown_settings():
        hint = f"Did you mean {close}?" if close else "Remove it, or check the list of settings."
        messages.append(
            Warning(
                f"{name} is not a django_jobs setting.",
                hint=f"{hint} ({DOCS})",
                id="django_jobs.W001",
            )
        )
    if getattr(settings, PREFIX + "INLINE", False) is True and not settings.DEBUG:
        messages.append(
            Warning(
                f"{PREFIX}INLINE is on while DEBUG is off: every enqueue runs its job inside the "
                "request.",
                hint=f"Inline mode is meant for tests; turn it off in production ({DOCS})",
                id="django_jobs.W002",
            )
        )
    return messages


@register(Tags.compatibility)
def check_database(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Any]:
    alias = getattr(settings, PREFIX + "DATABASE", "default")
    if not isinstance(alias, str):
        return []  # E001 reports it
    if alias not in settings.DATABASES:
        return [
            Error(
                f"{PREFIX}DATABASE is {alias!r}, which is not in DATABASES.",
                hint=f"Use one of: {', '.join(settings.DATABASES)} ({DOCS})",
                id="django_jobs.E002",
            )
        ]
    connection = connections[alias]
    if connection.vendor not in SUPPORTED_VENDORS:
        return [
            Error(
                f"The jobs database {alias!r} is {connection.vendor}, "
                "which django_jobs does not support.",
                hint=f"Use PostgreSQL, SQLite or MySQL/MariaDB ({DOCS})",
                id="django_jobs.E004",
            )
        ]
    if connection.vendor == "postgresql" and not _is_psycopg3(connection):
        return [
            Warning(
                f"The jobs database {alias!r} uses psycopg2: "
                "workers cannot LISTEN and will only poll.",
                hint=f"pip install 'django-jobs[postgres]' (psycopg 3) for instant pickup ({DOCS})",
                id="django_jobs.W003",
            )
        ]
    return []


def _is_psycopg3(connection: Any) -> bool:
    from django.db.backends.postgresql import base

    return bool(getattr(base, "is_psycopg3", False))


@register(Tags.compatibility)
def check_definitions(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    return [
        Error(
            f"{module}: {exc}",
            hint=f"Fix the definition; runjobs will not start until then ({DOCS})",
            obj=module,
            id=exc.check_id,
        )
        for module, exc in registry.errors
    ]
