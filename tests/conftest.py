"""Shared fixtures: a clean registry per test where needed, the queue cache, settings helpers."""

from __future__ import annotations

import pytest
from django.db import connection

from django_jobs.enqueue import forget_queues


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs PostgreSQL")
    for item in items:
        if "postgres_only" in item.keywords and connection.vendor != "postgresql":
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_queue_cache() -> None:
    """Tests roll back or flush the database, so the per-process queue cache must go too."""
    forget_queues()


@pytest.fixture
def clean_registry():
    """Definitions registered inside the test are removed afterwards."""
    from django_jobs.registry import registry

    saved, errors = dict(registry._definitions), list(registry.errors)
    yield registry
    registry._definitions.clear()
    registry._definitions.update(saved)
    registry.errors[:] = errors


@pytest.fixture
def fresh_definitions(clean_registry):
    """Tasks (and definitions) registered inside the test are forgotten afterwards."""
    from django_jobs.tasks import definitions

    saved = dict(definitions._definitions)
    definitions._definitions.clear()
    yield clean_registry
    definitions._definitions.clear()
    definitions._definitions.update(saved)
