"""Find and import the ``jobs.py`` module of every installed app (as the admin does)."""

from __future__ import annotations

import logging
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps

from django_jobs.exceptions import JobDefinitionError
from django_jobs.registry import registry

logger = logging.getLogger("django_jobs")


def autodiscover(module_name: str = "jobs") -> list[str]:
    """Import ``<app>.jobs`` for each installed app that has one; return the module names.

    A definition error does not stop Django from starting: it is kept in
    ``registry.errors`` and reported by ``manage.py check`` (``django_jobs.E010``-``E012``), which
    also stops ``runjobs`` from starting. Other import errors propagate as usual.
    """
    found = []
    for app_config in apps.get_app_configs():
        dotted = f"{app_config.name}.{module_name}"
        if not _has_package(app_config.name) or find_spec(dotted) is None:
            continue
        try:
            import_module(dotted)
        except JobDefinitionError as exc:
            registry.errors.append((dotted, exc))
            logger.error("definition error in %s: %s", dotted, exc)
            continue
        found.append(dotted)
    return found


def _has_package(name: str) -> bool:
    spec = find_spec(name)
    return spec is not None and spec.submodule_search_locations is not None
