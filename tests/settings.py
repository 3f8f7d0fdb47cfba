"""Settings for the test suite: SQLite by default, PostgreSQL or MariaDB when asked.

``DJANGO_JOBS_TEST_DB=postgres`` with ``DJANGO_JOBS_TEST_DATABASE_URL=postgresql://user@host:port/db``
runs on that server, ``DJANGO_JOBS_TEST_DB=mariadb`` with a ``mysql://user@host:port/db`` URL
on that MariaDB (``runtests.py`` starts a throwaway server when no URL is given).
"""

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "tests-only-not-secret"
DEBUG = True
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_jobs",
    "tests.testapp",
    "tests.tasksapp",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"

# Django's Tasks framework (django.tasks, or the django-tasks backport) through django_jobs.
TASKS = {
    "default": {
        "BACKEND": "django_jobs.backend.JobsBackend",
        "QUEUES": ["default", "tasks"],
        "OPTIONS": {"max_retries": 2, "retry_delay": None},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def database_from_url(url: str) -> dict:
    """A Django DATABASES entry from ``postgresql://user:password@host:port/name`` or
    ``mysql://...`` (MariaDB; ``mariadb://`` is taken too)."""
    parts = urlparse(url)
    if parts.scheme in ("postgres", "postgresql"):
        engine, default_name = "django.db.backends.postgresql", "postgres"
    elif parts.scheme in ("mysql", "mariadb"):
        engine, default_name = "django.db.backends.mysql", "django_jobs"
    else:
        raise ValueError(
            f"DJANGO_JOBS_TEST_DATABASE_URL must be a postgresql:// or mysql:// URL, got {url!r}"
        )
    entry = {
        "ENGINE": engine,
        "NAME": unquote(parts.path.lstrip("/")) or default_name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }
    if engine == "django.db.backends.mysql":
        entry["OPTIONS"] = {"charset": "utf8mb4", "isolation_level": "read committed"}
        entry["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    return entry


DB_KIND = os.environ.get("DJANGO_JOBS_TEST_DB", "sqlite")
if DB_KIND in ("postgres", "mariadb"):
    _url = os.environ.get("DJANGO_JOBS_TEST_DATABASE_URL")
    if not _url:
        raise RuntimeError(
            f"DJANGO_JOBS_TEST_DB={DB_KIND} needs DJANGO_JOBS_TEST_DATABASE_URL "
            "(python runtests.py starts a throwaway server and sets it for you)"
        )
    DATABASES = {"default": database_from_url(_url)}
elif DB_KIND == "sqlite":
    # Files, not memory: acceptance tests start worker processes that share the database.
    _dir = os.environ.get("DJANGO_JOBS_TEST_SQLITE_DIR") or tempfile.mkdtemp(prefix="django_jobs_")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(_dir, "main.sqlite3"),
            "TEST": {"NAME": os.path.join(_dir, "test.sqlite3")},
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
else:
    raise RuntimeError(
        f"DJANGO_JOBS_TEST_DB must be 'sqlite', 'postgres' or 'mariadb', got {DB_KIND!r}"
    )

# Worker processes started by acceptance tests use the test database of the test run that
# started them: it names that database here.
if os.environ.get("DJANGO_JOBS_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["DJANGO_JOBS_TEST_DB_NAME"]

# Acceptance tests shorten the worker's clocks for the processes they start.
for _name in (
    "WORKER_TIMEOUT",
    "HEARTBEAT_INTERVAL",
    "MAINTENANCE_INTERVAL",
    "CANCEL_GRACE",
    "SHUTDOWN_GRACE",
    "TIMEOUT_GRACE",
):
    if os.environ.get(f"DJANGO_JOBS_{_name}"):
        globals()[f"DJANGO_JOBS_{_name}"] = float(os.environ[f"DJANGO_JOBS_{_name}"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "null": {"class": "logging.NullHandler"},
        "stderr": {"class": "logging.StreamHandler"},
    },
    "loggers": {
        "django_jobs": {
            # Worker processes of acceptance tests that read the log: to stderr.
            "handlers": ["stderr" if os.environ.get("DJANGO_JOBS_TEST_LOG") else "null"],
            "level": "INFO",
            "propagate": True,
        }
    },
}
