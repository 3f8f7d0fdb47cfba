"""The OpenAPI document: valid OpenAPI 3.1, served, complete, and the response checker works."""

from __future__ import annotations

import json

import pytest
from django.http import JsonResponse
from django.test import Client
from openapi_spec_validator import validate

from django_jobs.api.urls import ENDPOINTS, urlpatterns
from tests.api.conftest import API, CHECKER, DOCUMENT, send

pytestmark = pytest.mark.django_db
URL = f"{API}openapi.json"


def test_document__is_valid_openapi_3_1():
    validate(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.1")


def test_document__served_is_the_one_built(api):
    response = send(api, "GET", URL)
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(DOCUMENT))


def test_document__needs_authentication_but_no_permission(client_with):
    assert send(Client(), "GET", URL).status_code == 401
    assert send(client_with(), "GET", URL).status_code == 200


def test_document__lists_every_route_and_method():
    documented = {
        (path, method.upper()) for path, item in DOCUMENT["paths"].items() for method in item
    }
    routed = {(API + e.template, m) for e in ENDPOINTS for m in e.operations}
    assert documented == routed
    assert len(urlpatterns) == len(DOCUMENT["paths"])


@pytest.mark.parametrize(
    ("path", "method"), [(p, m) for p, i in DOCUMENT["paths"].items() for m in i]
)
def test_document__every_operation_documents_auth_errors_and_a_success(path, method):
    responses = DOCUMENT["paths"][path][method]["responses"]
    assert {"400", "401", "403"} <= set(responses)
    assert any(status.startswith("2") for status in responses)
    operation = DOCUMENT["paths"][path][method]
    if "requestBody" in operation:
        assert {"413", "415"} <= set(responses)


def test_document__body_schemas_refuse_unknown_fields():
    for item in DOCUMENT["paths"].values():
        for operation in item.values():
            if "requestBody" in operation:
                schema = operation["requestBody"]["content"]["application/json"]["schema"]
                assert schema["additionalProperties"] is False


def test_checker__refuses_a_body_off_the_schema():
    response = JsonResponse({"results": [], "next": None, "extra": 1})
    with pytest.raises(AssertionError, match="does not match"):
        CHECKER.check("GET", f"{API}jobs/", response)


def test_checker__refuses_an_undocumented_status():
    with pytest.raises(AssertionError, match="not documented"):
        CHECKER.check("GET", f"{API}jobs/", JsonResponse({}, status=418))


def test_method_not_allowed__is_a_json_405(api):
    response = send(api, "PUT", f"{API}jobs/")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST" and response.json()["error"] == "method_not_allowed"


def test_document__unknown_query_parameter_is_400(api):
    errors = send(api, "GET", f"{URL}?format=yaml").json()["errors"]
    assert errors == {"format": ["is not a query parameter here; none is taken"]}


def test_errors__message_names_at_most_ten_fields(api):
    body = {f"field{i:02}": 1 for i in range(12)}
    response = send(api, "POST", f"{API}queues/", body)
    assert response.status_code == 400 and len(response.json()["errors"]) == 13
    assert response.json()["message"].endswith("and 3 more")
