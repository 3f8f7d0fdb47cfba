"""Find and import the ``jobs.py`` module of every installed app (as the admin does).

When ``TASKS`` names a ``django_jobs.backend.JobsBackend``, the apps' ``tasks.py`` modules are
imported too, and the ``@task`` functions found there and in ``jobs.py`` are registered as
definitions: a worker runs only what is registered, and it learns about tasks this way.
"""

from __future__ import annotations

import logging
import sys
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import import_string

from django_jobs.exceptions import JobDefinitionError
from django_jobs.registry import registry

logger = logging.getLogger("django_jobs")

TASKS_MODULE = "tasks"
JOBS_BACKEND = "django_jobs.backend.JobsBackend"


def autodiscover(module_name: str = "jobs") -> list[str]:
    """Import ``<app>.jobs`` for each installed app that has one; return the module names.

    With a django_jobs ``TASKS`` backend, ``<app>.tasks`` is imported as well and every
    ``Task`` of those modules is registered (``django_jobs.backend.register_discovered``).

    A bad definition does not stop the import: it is kept in ``registry.errors``, logged, and
    reported by ``manage.py check`` (``django_jobs.E010``-``E012``) with every other one, which
    stops the commands that run checks (``runserver``, ``migrate``, ``runjobs``...); the module's
    other definitions register. A ``JobDefinitionError`` the module raises itself (a bad
    ``Cron(...)`` built before ``@job`` sees it) ends that module's import and is kept the same
    way. Other import errors propagate as usual.
    """
    with_tasks = uses_jobs_tasks_backend()
    names = [module_name]
    if with_tasks and module_name != TASKS_MODULE:
        names.append(TASKS_MODULE)
    found = [dotted for name in names for dotted in _import_modules(name)]
    if with_tasks:
        from django_jobs.backend import register_discovered

        register_discovered(sys.modules[dotted] for dotted in found)
    return found


def _import_modules(module_name: str) -> list[str]:
    found = []
    for app_config in apps.get_app_configs():
        dotted = f"{app_config.name}.{module_name}"
        if not _has_package(app_config.name) or find_spec(dotted) is None:
            continue
        before = len(registry.errors)
        try:
            with registry.collecting_errors():
                import_module(dotted)
        except JobDefinitionError as exc:
            registry.errors.append((dotted, exc))
        else:
            found.append(dotted)
        for module, error in registry.errors[before:]:
            logger.error("definition error in %s: %s", module, error)
    return found


def uses_jobs_tasks_backend() -> bool:
    """Does ``TASKS`` name a ``JobsBackend`` (or a subclass)?

    Without one, nothing of the Tasks framework is imported and ``tasks.py`` modules (which
    may belong to another task queue) are left alone.
    """
    configured = getattr(settings, "TASKS", None)
    if not isinstance(configured, dict):
        return False
    for params in configured.values():
        path = params.get("BACKEND") if isinstance(params, dict) else None
        if not isinstance(path, str):
            continue
        try:
            backend_class = import_string(path)
        except ImportError:  # reported by the framework when the backend is used
            continue
        # Compared by name, so that other backends do not import ours.
        names = {f"{c.__module__}.{c.__qualname__}" for c in getattr(backend_class, "__mro__", ())}
        if JOBS_BACKEND in names:
            return True
    return False


def _has_package(name: str) -> bool:
    spec = find_spec(name)
    return spec is not None and spec.submodule_search_locations is not None
