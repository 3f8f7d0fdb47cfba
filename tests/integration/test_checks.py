"""System checks: each id triggers on its problem and stays quiet otherwise."""

import pytest
from django.core import checks
from django.test import override_settings

from django_jobs.exceptions import JobDefinitionError


def ids(messages):
    return sorted(m.id for m in messages if m.id and m.id.startswith("django_jobs"))


def run_checks():
    return checks.run_checks(include_deployment_checks=False)


def test_checks__clean_project_is_quiet():
    assert ids(run_checks()) == []


@override_settings(DJANGO_JOBS_WORKER_TIMEOUT=-3)
def test_checks__E001_invalid_setting_value():
    messages = [m for m in run_checks() if m.id == "django_jobs.E001"]
    assert "DJANGO_JOBS_WORKER_TIMEOUT must be a number >= 1" in messages[0].msg
    assert messages[0].hint


@override_settings(DJANGO_JOBS_DATABASE="jobs")
def test_checks__E002_unknown_database_alias():
    assert "django_jobs.E002" in ids(run_checks())


@override_settings(DJANGO_JOBS_WORKER_TIMOUT=10)
def test_checks__W001_unknown_setting_with_suggestion():
    message = next(m for m in run_checks() if m.id == "django_jobs.W001")
    assert "Did you mean DJANGO_JOBS_WORKER_TIMEOUT" in message.hint


@override_settings(DJANGO_JOB_INLINE=True)
def test_checks__W004_misspelled_prefix_with_suggestion():
    message = next(m for m in run_checks() if m.id == "django_jobs.W004")
    assert message.msg.startswith("DJANGO_JOB_INLINE ")
    assert "Did you mean DJANGO_JOBS_INLINE?" in message.hint


@override_settings(DJANGO_JOBS_INLINE=True, DEBUG=False)
def test_checks__W002_inline_in_production():
    assert "django_jobs.W002" in ids(run_checks())


@override_settings(DJANGO_JOBS_INLINE=True, DEBUG=True)
def test_checks__W002_quiet_with_debug():
    assert "django_jobs.W002" not in ids(run_checks())


def test_checks__W003_psycopg2(monkeypatch):
    from django.db import connection
    from django.db.backends.postgresql import base

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    monkeypatch.setattr(base, "is_psycopg3", False)
    message = next(m for m in run_checks() if m.id == "django_jobs.W003")
    assert "docs/" not in message.hint


def test_checks__E004_unsupported_vendor(monkeypatch):
    from django.db import connection

    monkeypatch.setattr(connection, "vendor", "oracle")
    assert "django_jobs.E004" in ids(run_checks())


@pytest.mark.parametrize(
    "check_id",
    [
        "django_jobs.E010",
        "django_jobs.E011",
        "django_jobs.E012",
        "django_jobs.E013",
        "django_jobs.E014",
    ],
)
def test_checks__definition_errors_reported(clean_registry, check_id):
    clean_registry.errors.append(
        ("myapp.jobs", JobDefinitionError("job definition 'x': bad", check_id=check_id))
    )
    message = next(m for m in run_checks() if m.id == check_id)
    assert message.msg.startswith("myapp.jobs: job definition 'x'")
    assert "runjobs will not start" in message.hint


def _sqlite_connections(tmp_path, **options):
    """A connection handler whose ``default`` is a fresh SQLite file, with these OPTIONS."""
    from django.db.utils import ConnectionHandler

    path = tmp_path / "jobs.sqlite3"
    return ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), **options}}
    )


@pytest.fixture
def sqlite_default(tmp_path, monkeypatch, django_db_blocker):
    """``make(**options)``: the checks see a fresh SQLite file as the ``default`` database."""
    import django_jobs.checks

    handlers = []
    django_db_blocker.unblock()

    def make(**options):
        handler = _sqlite_connections(tmp_path, **options)
        handlers.append(handler)
        monkeypatch.setattr(django_jobs.checks, "connections", handler)
        return handler

    yield make
    for handler in handlers:
        handler.close_all()
    django_db_blocker.restore()


def test_checks__W005_sqlite_without_wal(sqlite_default):
    sqlite_default()
    messages = [m for m in checks.run_checks(databases=["default"]) if m.id == "django_jobs.W005"]
    assert len(messages) == 1
    assert "journal_mode=delete" in messages[0].msg
    assert "PRAGMA journal_mode=WAL" in messages[0].hint
    assert "docs/" not in messages[0].hint


def test_checks__W005_quiet_with_wal(sqlite_default):
    sqlite_default(OPTIONS={"init_command": "PRAGMA journal_mode=WAL;"})
    assert "django_jobs.W005" not in ids(checks.run_checks(databases=["default"]))


def test_checks__W005_needs_the_databases_of_the_check(sqlite_default):
    handler = sqlite_default()
    assert "django_jobs.W005" not in ids(run_checks())  # manage.py check without --database
    assert not handler["default"].connection  # the checks did not connect


@pytest.mark.django_db
def test_checks__W005_quiet_for_the_test_database():
    assert "django_jobs.W005" not in ids(checks.run_checks(databases=["default"]))


_HINT_CASES = {
    "E001": {"DJANGO_JOBS_WORKER_TIMEOUT": -3},
    "E002": {"DJANGO_JOBS_DATABASE": "jobs"},
    "W001": {"DJANGO_JOBS_WORKER_TIMOUT": 10, "DJANGO_JOBS_NOTHING_LIKE_THIS": 1},
    "W002": {"DJANGO_JOBS_INLINE": True, "DEBUG": False},
    "W004": {"DJANGO_JOB_INLINE": True, "JOBS_INLINE": True},
}


@pytest.mark.parametrize("case", sorted(_HINT_CASES))
def test_checks__hints_name_no_docs_path(case, clean_registry, monkeypatch):
    from django.db import connection

    clean_registry.errors.append(("myapp.jobs", JobDefinitionError("job definition 'x': bad")))
    monkeypatch.setattr(connection, "vendor", "oracle")  # E004
    with override_settings(**_HINT_CASES[case]):
        messages = [m for m in run_checks() if m.id and m.id.startswith("django_jobs")]
    assert f"django_jobs.{case}" in ids(messages)
    for message in messages:
        assert message.hint
        assert "docs/" not in message.hint and ".md" not in message.hint, message


def test_checks__every_id_documented():
    import pathlib
    import re

    import django_jobs.checks as module

    source = pathlib.Path(module.__file__).read_text()
    documented = pathlib.Path(__file__).resolve().parents[2] / "docs" / "reference" / "checks.md"
    if not documented.exists():
        pytest.fail("docs/reference/checks.md is missing")
    text = documented.read_text()
    for check_id in set(re.findall(r"django_jobs\.[EW]\d{3}", source)):
        assert check_id in text, f"{check_id} is not documented"


def test_settings__every_setting_documented():
    import pathlib

    from django_jobs.conf import PREFIX, SETTINGS

    documented = pathlib.Path(__file__).resolve().parents[2] / "docs" / "reference" / "settings.md"
    text = documented.read_text() if documented.exists() else ""
    missing = [PREFIX + name for name in SETTINGS if PREFIX + name not in text]
    assert not missing, f"not in docs/reference/settings.md: {missing}"
