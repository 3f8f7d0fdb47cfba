"""Django settings for the benchmark's processes; the database comes from the environment.

``BENCH_DB_ENGINE`` is ``postgres``, ``sqlite`` or ``mariadb``. PostgreSQL reads
``BENCH_DB_URL`` (``postgresql://user:password@host:port/name``) and
``BENCH_DB_PREPARE_THRESHOLD`` (empty: Django's default, no prepared statements); SQLite reads
``BENCH_DB_PATH`` (a file: worker processes share it); MariaDB reads ``BENCH_DB_URL``
(``mysql://user@host:port/name``). Only ``django_jobs`` and the benchmark's job app are
installed, and the ``django_jobs`` logger is left at Django's default (WARNING and above), as
in a project that has not configured logging.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False  # DEBUG=True would keep every query in memory
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = ["django_jobs", "benchmarks.benchapp"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def postgres_database(url: str) -> dict[str, str]:
    """A Django DATABASES entry from ``postgresql://user:password@host:port/name``."""
    parts = urlparse(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"BENCH_DB_URL must be a postgresql:// URL, got {url!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "postgres",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": prepare_options(os.environ.get("BENCH_DB_PREPARE_THRESHOLD", "")),
    }


def prepare_options(threshold: str) -> dict[str, int]:
    """``run.py --prepared``: psycopg prepares statements after ``threshold`` executions.

    Django sets ``prepare_threshold`` to None unless OPTIONS gives one; a server-binding
    cursor (django_jobs' enqueue INSERT) then prepares its statement, as the raw side does.
    """
    return {"prepare_threshold": int(threshold)} if threshold else {}


def sqlite_database(path: str) -> dict[str, object]:
    """A Django DATABASES entry for an SQLite file, set up as the test suite does (WAL)."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
    }


def mariadb_database(url: str) -> dict[str, object]:
    """A Django DATABASES entry from ``mysql://user:password@host:port/name``, set up as the
    test suite does (utf8mb4, READ COMMITTED)."""
    parts = urlparse(url)
    return {
        "ENGINE": "django.db.backends.mysql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": {"charset": "utf8mb4", "isolation_level": "read committed"},
    }


ENGINE = os.environ.get("BENCH_DB_ENGINE", "sqlite")
if ENGINE == "postgres":
    DATABASES = {"default": postgres_database(os.environ["BENCH_DB_URL"])}
elif ENGINE == "sqlite":
    DATABASES = {"default": sqlite_database(os.environ.get("BENCH_DB_PATH", "bench.sqlite3"))}
elif ENGINE == "mariadb":
    DATABASES = {"default": mariadb_database(os.environ["BENCH_DB_URL"])}
else:
    raise RuntimeError(f"BENCH_DB_ENGINE must be 'postgres', 'sqlite' or 'mariadb', got {ENGINE!r}")
