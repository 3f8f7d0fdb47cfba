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
    assert "django_jobs.W003" in ids(run_checks())


def test_checks__E004_unsupported_vendor(monkeypatch):
    from django.db import connection

    monkeypatch.setattr(connection, "vendor", "oracle")
    assert "django_jobs.E004" in ids(run_checks())


@pytest.mark.parametrize("check_id", ["django_jobs.E010", "django_jobs.E011", "django_jobs.E012"])
def test_checks__definition_errors_reported(clean_registry, check_id):
    clean_registry.errors.append(
        ("myapp.jobs", JobDefinitionError("job definition 'x': bad", check_id=check_id))
    )
    message = next(m for m in run_checks() if m.id == check_id)
    assert message.msg.startswith("myapp.jobs: job definition 'x'")
    assert "runjobs will not start" in message.hint


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
