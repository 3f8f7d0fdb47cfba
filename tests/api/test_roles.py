"""Roles: list, create, read, PUT (create or replace), delete; their queues must exist."""

from __future__ import annotations

import pytest

from django_jobs.models import Queue, Role
from tests.api.conftest import API, errors_of, send

pytestmark = pytest.mark.django_db
URL = f"{API}roles/"


@pytest.fixture
def queues() -> list[Queue]:
    return [Queue.objects.create(name=n) for n in ("reports", "exports", "mail")]


def make_role(name: str = "heavy", queues: tuple[str, ...] = ("reports",)) -> Role:
    role = Role.objects.create(name=name)
    role.queues.set(Queue.objects.filter(name__in=queues))
    return role


def test_create__with_queues(api, queues):
    body = {"name": "heavy-workers", "queues": ["reports", "exports"], "description": "big"}
    response = send(api, "POST", URL, body)
    assert response.status_code == 201
    assert response.json()["queues"] == ["exports", "reports"]
    assert Role.objects.get(name="heavy-workers").queue_names() == ["exports", "reports"]


def test_create__existing_name_is_409(api, queues):
    make_role("heavy")
    response = send(api, "POST", URL, {"name": "heavy"})
    assert response.status_code == 409 and "name" in response.json()["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "r", "queues": ["reports", "nowhere"]}, "queues"),
        ({"name": "r", "queues": "reports"}, "queues"),
        ({"name": "r", "queues": ["bad name"]}, "queues"),
        ({"name": "r", "queues": [None]}, "queues"),
        ({"queues": ["reports"]}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": "r", "description": "d" * 201}, "description"),
        ({"name": "r", "workers": 3}, "workers"),
    ],
)
def test_create__bad_field_is_400_and_writes_nothing(api, queues, body, field):
    errors = errors_of(send(api, "POST", URL, body))
    assert field in errors
    assert not Role.objects.exists()


def test_create__unknown_queue_message_lists_them(api, queues):
    errors = errors_of(send(api, "POST", URL, {"name": "r", "queues": ["zz", "reports", "aa"]}))
    assert "aa, zz" in errors["queues"][0]


def test_list_and_read(api, queues):
    make_role("b", ("mail",))
    make_role("a", ("reports", "exports"))
    page = send(api, "GET", URL).json()
    assert [(r["name"], r["queues"]) for r in page["results"]] == [
        ("a", ["exports", "reports"]),
        ("b", ["mail"]),
    ]
    assert send(api, "GET", f"{URL}b/").json()["queues"] == ["mail"]
    assert send(api, "GET", f"{URL}zzz/").status_code == 404


def test_list__pages(api, queues):
    for name in "abc":
        make_role(name)
    first = send(api, "GET", f"{URL}?limit=2").json()
    assert len(first["results"]) == 2 and send(api, "GET", first["next"]).json()["next"] is None
    assert "limit" in errors_of(send(api, "GET", f"{URL}?limit=-5"))


def test_put__replaces_the_queues(api, queues):
    make_role("heavy", ("reports", "exports"))
    response = send(api, "PUT", f"{URL}heavy/", {"queues": ["mail"]})
    assert response.status_code == 200 and response.json()["queues"] == ["mail"]
    assert Role.objects.get(name="heavy").queue_names() == ["mail"]


def test_put__unknown_queue_changes_nothing(api, queues):
    make_role("heavy", ("reports",))
    assert "queues" in errors_of(send(api, "PUT", f"{URL}heavy/", {"queues": ["mail", "nope"]}))
    assert Role.objects.get(name="heavy").queue_names() == ["reports"]


def test_put__creates_a_missing_role(api, queues):
    response = send(api, "PUT", f"{URL}fresh/", {"queues": ["mail"]})
    assert response.status_code == 201 and Role.objects.get(name="fresh").queue_names() == ["mail"]


def test_put__creating_checks_the_name(api):
    assert "name" in errors_of(send(api, "PUT", f"{URL}.hidden/", {}))


def test_put__create_needs_add_and_replace_needs_change(client_with, queues):
    make_role("heavy")
    assert send(client_with("change_role"), "PUT", f"{URL}new/", {}).status_code == 403
    assert send(client_with("add_role"), "PUT", f"{URL}heavy/", {}).status_code == 403
    assert Role.objects.get(name="heavy").queue_names() == ["reports"]


def test_delete(api, queues):
    make_role("heavy")
    assert send(api, "DELETE", f"{URL}heavy/").status_code == 204
    assert not Role.objects.exists() and Queue.objects.filter(name="reports").exists()
    assert send(api, "DELETE", f"{URL}heavy/").status_code == 404


def test_every_method__needs_its_permission(client_with, queues):
    make_role("heavy")
    viewer = client_with("view_role")
    assert send(viewer, "GET", f"{URL}heavy/").status_code == 200
    assert send(viewer, "POST", URL, {"name": "x"}).status_code == 403
    assert send(viewer, "DELETE", f"{URL}heavy/").status_code == 403
    assert send(client_with("view_queue"), "GET", URL).status_code == 403
    assert Role.objects.count() == 1
