"""jobs.py discovery: definitions of installed apps are registered at start-up."""

import sys
import types

from django_jobs.discovery import autodiscover
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
