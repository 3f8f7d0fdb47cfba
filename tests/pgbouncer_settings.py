"""Settings for processes behind PgBouncer in transaction mode (tests/acceptance/test_pgbouncer.py).

The test suite's settings, with the databases of ``DJANGO_JOBS_TEST_MAIN_DB`` (and, when set,
the jobs tables in ``DJANGO_JOBS_TEST_JOBS_DB``) reached through the PgBouncer at
``DJANGO_JOBS_TEST_PGBOUNCER`` (``host:port``), and the settings docs/howto/deployment.md gives
for it.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES as _DATABASES

_host, _port = os.environ["DJANGO_JOBS_TEST_PGBOUNCER"].rsplit(":", 1)
_through_bouncer = {
    **_DATABASES["default"],
    "HOST": _host,
    "PORT": _port,
    # A named cursor lives in one server connection; transaction pooling does not keep it.
    "DISABLE_SERVER_SIDE_CURSORS": True,
}
DATABASES = {"default": {**_through_bouncer, "NAME": os.environ["DJANGO_JOBS_TEST_MAIN_DB"]}}

# LISTEN needs a session of its own; PgBouncer (transaction mode) does not keep one: poll.
DJANGO_JOBS_USE_LISTEN_NOTIFY = False
# PgBouncer before 1.21 (Debian 12 has 1.18) cannot keep server-side prepared statements.
DJANGO_JOBS_PREPARED_STATEMENTS = False

if os.environ.get("DJANGO_JOBS_TEST_JOBS_DB"):
    DATABASES["jobs"] = {**_through_bouncer, "NAME": os.environ["DJANGO_JOBS_TEST_JOBS_DB"]}
    DJANGO_JOBS_DATABASE = "jobs"
    DATABASE_ROUTERS = ["tests.pgbouncer_settings.JobsRouter"]


class JobsRouter:
    """The ``django_jobs`` models, and their migrations, in the ``jobs`` database only."""

    def db_for_read(self, model, **hints):
        return "jobs" if model._meta.app_label == "django_jobs" else None

    def db_for_write(self, model, **hints):
        return "jobs" if model._meta.app_label == "django_jobs" else None

    def allow_migrate(self, db, app_label, **hints):
        if app_label == "django_jobs":
            return db == "jobs"
        return db == "default"
