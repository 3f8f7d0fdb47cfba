"""Every operation of the document: anonymous → 401, no permission → 403, its permission →
past the gate, and a session without the CSRF token → 403 on unsafe methods."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from tests.api.conftest import DOCUMENT, make_user, send, session_client, token_client

pytestmark = pytest.mark.django_db

OPERATIONS = [
    (method.upper(), template, operation)
    for template, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
]
IDS = [f"{method} {template}" for method, template, _ in OPERATIONS]
GUARDED = [op for op in OPERATIONS if op[2]["x-permissions"]]
GUARDED_IDS = [f"{method} {template}" for method, template, _ in GUARDED]
UNSAFE = [op for op in OPERATIONS if op[0] not in ("GET", "HEAD")]
UNSAFE_IDS = [f"{method} {template}" for method, template, _ in UNSAFE]


def url_of(template: str) -> str:
    return template.replace("{id}", str(uuid.uuid4())).replace("{name}", "some-queue")


def body_of(operation: dict) -> dict | None:
    return {} if "requestBody" in operation else None


@pytest.mark.parametrize(("method", "template", "operation"), OPERATIONS, ids=IDS)
def test_every_operation__anonymous_gets_401(method, template, operation):
    response = send(Client(), method, url_of(template), body_of(operation))
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "template", "operation"), GUARDED, ids=GUARDED_IDS)
def test_every_operation__without_permission_gets_403(method, template, operation):
    response = send(token_client(make_user()), method, url_of(template), body_of(operation))
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize(("method", "template", "operation"), GUARDED, ids=GUARDED_IDS)
def test_every_operation__its_permission_passes_the_gate(method, template, operation):
    also = [p.removeprefix("django_jobs.") for p in operation.get("x-permissions-also", [])]
    for permission in operation["x-permissions"]:
        user = make_user(permission.removeprefix("django_jobs."), *also)
        response = send(token_client(user), method, url_of(template), body_of(operation))
        assert response.status_code not in (401, 403), (permission, response.json())


@pytest.mark.parametrize(("method", "template", "operation"), GUARDED, ids=GUARDED_IDS)
def test_every_operation__other_permissions_do_not_pass(method, template, operation):
    from django.contrib.auth.models import Permission

    others = Permission.objects.filter(content_type__app_label="django_jobs").exclude(
        codename__in=[p.removeprefix("django_jobs.") for p in operation["x-permissions"]]
    )
    user = make_user(*others.values_list("codename", flat=True))
    response = send(token_client(user), method, url_of(template), body_of(operation))
    assert response.status_code == 403


ALSO = [op for op in GUARDED if op[2].get("x-permissions-also")]


def test_permissions_also__deleting_dead_letters_also_needs_delete_job():
    """Deleting a dead letter deletes its job: the API asks what the admin asks."""
    assert sorted(f"{m} {t}" for m, t, _ in ALSO) == [
        "DELETE /jobs/api/dead-letters/{id}/",
        "POST /jobs/api/dead-letters/delete/",
    ]
    assert all(op["x-permissions-also"] == ["django_jobs.delete_job"] for _, _, op in ALSO)


@pytest.mark.parametrize(
    ("method", "template", "operation"), ALSO, ids=[f"{m} {t}" for m, t, _ in ALSO]
)
def test_permissions_also__one_permission_alone_does_not_pass(method, template, operation):
    for permission in operation["x-permissions"]:
        user = make_user(permission.removeprefix("django_jobs."))
        response = send(token_client(user), method, url_of(template), body_of(operation))
        assert response.status_code == 403, permission
        assert "django_jobs.delete_job" in response.json()["message"]
    assert "`django_jobs.delete_job`" in operation["description"]


@pytest.mark.parametrize(("method", "template", "operation"), UNSAFE, ids=UNSAFE_IDS)
def test_every_unsafe_operation__session_without_csrf_token_gets_403(method, template, operation):
    client = session_client(make_user(superuser=True), enforce_csrf_checks=True)
    response = send(client, method, url_of(template), body_of(operation))
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"


def test_superuser__passes_every_gate():
    client = token_client(make_user(superuser=True))
    for method, template, operation in OPERATIONS:
        response = send(client, method, url_of(template), body_of(operation))
        assert response.status_code not in (401, 403), (method, template)
