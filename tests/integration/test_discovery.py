"""jobs.py discovery: definitions of installed apps are registered at start-up."""

import sys
import types

import pytest

from django_jobs.discovery import autodiscover
from django_jobs.exceptions import JobDefinitionError
from django_jobs.registry import registry


def test_discovery__testapp_definitions_registered():
    assert registry.find("tests.testapp.jobs.add") is not None
    assert registry.find("send_email", 2) is not None
    assert registry.find("tests.testapp.jobs.PurgeSessions").kind == "recurring"


def test_discovery__returns_found_modules():
    assert "tests.testapp.jobs" in autodiscover()


def test_discovery__definition_error_is_kept_for_checks(
    clean_registry, settings, tmp_path, monkeypatch
):
    package = tmp_path / "brokenapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "jobs.py").write_text(
        "from django_jobs import job\n\n@job(timeout=-1)\ndef bad():\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from django.apps import apps

    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "brokenapp"]
    try:
        autodiscover()
        modules = [module for module, _ in clean_registry.errors]
        assert "brokenapp.jobs" in modules
        error = dict(clean_registry.errors)["brokenapp.jobs"]
        assert "'timeout' must be > 0" in str(error)
    finally:
        for name in ("brokenapp", "brokenapp.jobs"):
            sys.modules.pop(name, None)
    assert apps.is_installed("django_jobs")
    assert isinstance(sys.modules.get("tests.testapp.jobs"), types.ModuleType)


TWO_BAD_AND_A_GOOD = """
from django_jobs import RecurringJob, job


@job(timeout=-1)
def bad_timeout():
    pass


@job(name="twobad.good")
def good():
    return "ok"


@job(retry_dealy=3)
def bad_option():
    pass


class BadRecurring(RecurringJob):
    interval = -5

    def run(self):
        pass


@job(name="twobad.after")
def after():
    return "after"
"""


def test_discovery__every_bad_definition_is_reported_and_the_good_ones_kept(
    clean_registry, settings, tmp_path, monkeypatch
):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    package = tmp_path / "twobadapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "jobs.py").write_text(TWO_BAD_AND_A_GOOD)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "twobadapp"]
    try:
        autodiscover()
        assert registry.find("twobad.good")() == "ok"
        assert registry.find("twobad.after") is not None
        messages = [str(exc) for module, exc in clean_registry.errors if module == "twobadapp.jobs"]
        assert len(messages) == 3, messages
        with pytest.raises(SystemCheckError) as raised:
            call_command("check")
        report = str(raised.value)
        assert "'twobadapp.jobs.bad_timeout': option 'timeout'" in report
        assert "'twobadapp.jobs.bad_option': option 'retry_dealy'" in report
        assert "'twobadapp.jobs.BadRecurring': option 'interval'" in report
        bad_timeout = sys.modules["twobadapp.jobs"].bad_timeout
        with pytest.raises(JobDefinitionError, match="'timeout' must be > 0"):
            bad_timeout.enqueue()
    finally:
        for name in ("twobadapp", "twobadapp.jobs"):
            sys.modules.pop(name, None)
