"""System checks. Every id is listed, with its fix, in docs/reference/checks.md.

Hints carry the fix itself: an installed package has no docs folder to point at.

* ``django_jobs.E001`` a ``DJANGO_JOBS_*`` setting has an invalid value
* ``django_jobs.E002`` ``DJANGO_JOBS_DATABASE`` names a database alias that does not exist
* ``django_jobs.E004`` the jobs database is of an unsupported kind
* ``django_jobs.W001`` an unknown ``DJANGO_JOBS_*`` setting (a typo?)
* ``django_jobs.W002`` inline mode is on while ``DEBUG`` is off
* ``django_jobs.W003`` PostgreSQL through psycopg2: LISTEN/NOTIFY off, workers only poll
* ``django_jobs.W004`` a setting whose prefix is a slip of ``DJANGO_JOBS_`` (``DJANGO_JOB_INLINE``)
* ``django_jobs.W005`` the jobs database is an SQLite file not in WAL mode (tag ``database``)
* ``django_jobs.W006`` a limit the jobs database's engine cannot enforce: a definition's
  ``max_concurrent`` / ``max_running``, or (tag ``database``) a queue's ``max_concurrent``
* ``django_jobs.E010`` a job definition has an invalid option (found in a ``jobs.py``)
* ``django_jobs.E011`` two job definitions share one ``(name, version)``
* ``django_jobs.E012`` a job definition's schedule is invalid (cron, misfire, arguments)
* ``django_jobs.E013`` a job definition's ``run_mode`` does not fit its function, or ``atomic``
* ``django_jobs.E014`` ``durable=False`` on a job definition without a schedule
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connections

from django_jobs import db
from django_jobs.conf import (
    PREFIX,
    SETTINGS,
    invalid_settings,
    misspelled_prefix_settings,
    unknown_settings,
)
from django_jobs.registry import registry

SUPPORTED_VENDORS = ("postgresql", "sqlite", "mysql")


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    messages: list[Any] = []
    for name, problem in invalid_settings():
        messages.append(
            Error(
                f"{name} {problem}.",
                hint=SETTINGS[name[len(PREFIX) :]].doc,
                id="django_jobs.E001",
            )
        )
    for name, close in unknown_settings():
        messages.append(
            Warning(
                f"{name} is not a django_jobs setting.",
                hint=f"Did you mean {close}?" if close else _known_settings(),
                id="django_jobs.W001",
            )
        )
    for name, intended in misspelled_prefix_settings():
        messages.append(
            Warning(
                f"{name} looks like a django_jobs setting with a misspelled prefix; "
                "django_jobs ignores it.",
                hint=f"Did you mean {intended}? django_jobs reads only {PREFIX}* settings.",
                id="django_jobs.W004",
            )
        )
    if getattr(settings, PREFIX + "INLINE", False) is True and not settings.DEBUG:
        messages.append(
            Warning(
                f"{PREFIX}INLINE is on while DEBUG is off: every enqueue runs its job inside the "
                "request.",
                hint=f"Inline mode is meant for tests: set {PREFIX}INLINE = True only in test "
                "settings, or with override_settings in the tests that need it.",
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
                hint=f"Add it to DATABASES, or set {PREFIX}DATABASE to one of: "
                f"{', '.join(settings.DATABASES)}.",
                id="django_jobs.E002",
            )
        ]
    connection = connections[alias]
    if connection.vendor not in SUPPORTED_VENDORS:
        return [
            Error(
                f"The jobs database {alias!r} is {connection.vendor}, "
                "which django_jobs does not support.",
                hint="Keep the jobs tables in PostgreSQL, SQLite or MySQL/MariaDB, with "
                f"{PREFIX}DATABASE naming that database's alias.",
                id="django_jobs.E004",
            )
        ]
    if connection.vendor == "postgresql" and not _is_psycopg3(connection):
        return [
            Warning(
                f"The jobs database {alias!r} uses psycopg2: "
                "workers cannot LISTEN and will only poll.",
                hint="pip install 'django-dbjobs[postgres]' (psycopg 3) for instant pickup, or "
                "add django_jobs.W003 to SILENCED_SYSTEM_CHECKS to keep polling.",
                id="django_jobs.W003",
            )
        ]
    return []


def _known_settings() -> str:
    return "Remove it, or rename it to one of the django_jobs settings: " + ", ".join(
        PREFIX + name for name in sorted(SETTINGS)
    )


@register(Tags.database)
def check_sqlite_journal(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Any]:
    """An SQLite jobs database should be in WAL mode: the worker and the site write at once.

    Reading the journal mode needs a connection, and system checks open none unless they are
    handed databases (``migrate``, ``check --database``, the test runner): tagged ``database``
    and quiet otherwise, as Django's own database checks are.
    """
    alias = getattr(settings, PREFIX + "DATABASE", "default")
    if not databases or alias not in databases or alias not in settings.DATABASES:
        return []  # E001 / E002 report a bad alias
    connection = connections[alias]
    if connection.vendor != "sqlite" or connection.is_in_memory_db():  # type: ignore[attr-defined]
        return []  # an in-memory database cannot be shared by a worker anyway
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = str(cursor.fetchone()[0]).lower()
    if mode == "wal":
        return []
    return [
        Warning(
            f"The jobs database {alias!r} is SQLite in journal_mode={mode}: readers and the "
            "writer block each other, so the worker and the site meet 'database is locked'.",
            hint='Add "init_command": "PRAGMA journal_mode=WAL;" to its OPTIONS in DATABASES, '
            "or run PRAGMA journal_mode=WAL; once on the file (the mode is kept in it).",
            id="django_jobs.W005",
        )
    ]


def _is_psycopg3(connection: Any) -> bool:
    from django.db.backends.postgresql import base

    return bool(getattr(base, "is_psycopg3", False))


@register(Tags.compatibility)
def check_definitions(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    return [
        Error(
            f"{module}: {exc}",
            hint="Fix the definition; runjobs will not start until then, nor will "
            "runserver or migrate.",
            obj=module,
            id=exc.check_id,
        )
        for module, exc in registry.errors
    ]


def _jobs_engine() -> tuple[str, db.Engine] | None:
    """The jobs database's alias and engine, when the alias is usable (else E001 / E002 /
    E004 report it)."""
    alias = getattr(settings, PREFIX + "DATABASE", "default")
    if not isinstance(alias, str) or alias not in settings.DATABASES:
        return None
    connection = connections[alias]
    if connection.vendor not in SUPPORTED_VENDORS:
        return None
    return alias, db.for_connection(connection)


def _unenforced(alias: str, engine: db.Engine, what: str, names: list[str]) -> Warning:
    return Warning(
        f"The jobs database {alias!r} has the {engine.name} engine, which cannot enforce "
        f"{what}: {', '.join(names)}; its workers run such jobs without that limit.",
        hint="Keep the jobs tables in PostgreSQL, SQLite 3.35+ or MySQL/MariaDB (set "
        "DJANGO_JOBS_DATABASE to such a database), or remove the limit.",
        id="django_jobs.W006",
    )


@register(Tags.compatibility)
def check_definition_limits(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``@job(max_concurrent=..., max_running=...)`` where the engine cannot hold them."""
    found = _jobs_engine()
    if found is None or found[1].capabilities.definition_caps:
        return []
    capped = sorted(
        {
            d.name
            for d in registry.all()
            if d.max_concurrent is not None or d.max_running is not None
        }
    )
    if not capped:
        return []
    return [_unenforced(*found, "max_concurrent or max_running of job definitions", capped)]


@register(Tags.database)
def check_queue_limits(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Any]:
    """``Queue.max_concurrent`` where the engine cannot hold it. The queues are rows (set in
    the admin or the API), so this reads them: tagged ``database``, quiet unless handed the
    jobs database, as W005."""
    found = _jobs_engine()
    if found is None or found[1].capabilities.queue_max_concurrent:
        return []
    alias, engine = found
    if not databases or alias not in databases:
        return []
    from django_jobs.models import Queue

    if Queue._meta.db_table not in connections[alias].introspection.table_names():
        return []  # not migrated yet (migrate runs the checks first)
    limited = Queue.objects.using(alias).filter(max_concurrent__isnull=False)
    names = sorted(limited.values_list("name", flat=True))
    if not names:
        return []
    return [_unenforced(alias, engine, "max_concurrent of queues", names)]
