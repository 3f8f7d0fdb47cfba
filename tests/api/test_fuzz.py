"""Fuzzing over the OpenAPI document (schemathesis): valid and invalid input alike, no 500,
and every response as documented. Deterministic (derandomized) and bounded in time."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from django_jobs.api.auth import make_token
from django_jobs.models import Queue, Role
from django_jobs.registry import registry
from tests.api.conftest import API, DOCUMENT, dead_letter, make_user, queued_job, succeeded_job

EXAMPLES = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_app(db: Any) -> Iterator[WSGIHandler]:
    """Django's WSGI app on the test database: requests must not close its connection (the
    test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app: WSGIHandler) -> Any:
    user = make_user(superuser=True)
    Queue.objects.create(name="reports")
    Role.objects.create(name="heavy").queues.set(Queue.objects.all())
    queued_job(), succeeded_job(), dead_letter()
    schema = schemathesis.openapi.from_dict(narrowed(DOCUMENT))
    schema.config.update(headers={"Authorization": f"Bearer {make_token(user)}"})
    schema.config.generation.update(
        modes=["positive", "negative"], max_examples=EXAMPLES, deterministic=True
    )
    schema.app = wsgi_app
    return schema


def narrowed(document: dict[str, Any]) -> dict[str, Any]:
    """A copy whose submit ``name`` is one of the registered definitions, so that generated
    submissions get past the registry to the enqueue options and arguments."""
    document = copy.deepcopy(document)
    body = document["paths"][f"{API}jobs/"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"]["properties"]["name"]["enum"] = sorted({d.name for d in registry.all()})
    return document


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_fuzz__no_server_error_and_responses_as_documented(case: Any, wsgi_app: WSGIHandler):
    response = case.call(app=wsgi_app)
    case.validate_response(response, checks=CHECKS)
