"""Queues: list, create, read, PUT (create or replace), PATCH, delete."""

from __future__ import annotations

import pytest

from django_jobs.models import Queue
from tests.api.conftest import API, errors_of, queued_job, send, succeeded_job

pytestmark = pytest.mark.django_db
URL = f"{API}queues/"


def make_queue(name: str = "reports", **fields) -> Queue:
    return Queue.objects.create(name=name, **fields)


def test_list__by_name_in_pages(api):
    for name in ("c", "a", "b"):
        make_queue(name)
    first = send(api, "GET", f"{URL}?limit=2").json()
    assert [q["name"] for q in first["results"]] == ["a", "b"]
    second = send(api, "GET", first["next"]).json()
    assert [q["name"] for q in second["results"]] == ["c"] and second["next"] is None


@pytest.mark.parametrize("query", ["limit=-1", "offset=-1", "offset=x", "limit=9999"])
def test_list__bad_paging_is_400(api, query):
    field = query.split("=")[0]
    assert field in errors_of(send(api, "GET", f"{URL}?{query}"))


def test_create__with_limits(api):
    body = {
        "name": "reports",
        "max_concurrent": 5,
        "rate_numerator": 100,
        "rate_denominator": 1,
        "rate_period": "hour",
    }
    response = send(api, "POST", URL, body)
    assert response.status_code == 201
    assert response.json() | body == response.json()
    queue = Queue.objects.get(name="reports")
    assert queue.rate_per_second == pytest.approx(100 / 3600) and not queue.paused


def test_create__defaults(api):
    body = send(api, "POST", URL, {"name": "plain"}).json()
    assert (body["paused"], body["max_concurrent"], body["rate_period"]) == (False, None, None)


def test_create__existing_name_is_409(api):
    make_queue("reports")
    response = send(api, "POST", URL, {"name": "reports"})
    assert response.status_code == 409 and "name" in response.json()["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": "-dash"}, "name"),
        ({"name": "q" * 101}, "name"),
        ({"name": "q", "max_concurrent": 0}, "max_concurrent"),
        ({"name": "q", "max_concurrent": -3}, "max_concurrent"),
        ({"name": "q", "max_concurrent": 2**31}, "max_concurrent"),
        ({"name": "q", "rate_numerator": 10}, "rate_period"),
        ({"name": "q", "rate_period": "hour"}, "rate_numerator"),
        ({"name": "q", "rate_numerator": 1, "rate_period": "week"}, "rate_period"),
        (
            {"name": "q", "rate_numerator": 1, "rate_period": "day", "rate_denominator": 0},
            "rate_denominator",
        ),
        ({"name": "q", "paused": "yes"}, "paused"),
        ({"name": "q", "colour": "red"}, "colour"),
    ],
)
def test_create__bad_field_is_400_and_creates_nothing(api, body, field):
    assert field in errors_of(send(api, "POST", URL, body))
    assert not Queue.objects.exists()


def test_read(api):
    make_queue("reports", paused=True)
    assert send(api, "GET", f"{URL}reports/").json()["paused"] is True


def test_read__unknown_is_404_and_invalid_name_is_400(api):
    assert send(api, "GET", f"{URL}nothing/").status_code == 404
    assert "name" in errors_of(send(api, "GET", f"{URL}.dot/"))


def test_put__creates_a_missing_queue_with_add_queue(client_with):
    response = send(client_with("add_queue"), "PUT", f"{URL}new/", {"max_concurrent": 2})
    assert response.status_code == 201 and Queue.objects.get(name="new").max_concurrent == 2


def test_put__replaces_every_field(api):
    make_queue("reports", max_concurrent=3, rate_numerator=5, rate_period="minute")
    response = send(api, "PUT", f"{URL}reports/", {"paused": True})
    assert response.status_code == 200
    queue = Queue.objects.get(name="reports")
    assert (queue.paused, queue.max_concurrent, queue.rate_numerator, queue.rate_period) == (
        True,
        None,
        None,
        "",
    )


def test_put__create_needs_add_and_replace_needs_change(client_with):
    make_queue("reports")
    assert send(client_with("change_queue"), "PUT", f"{URL}new/", {}).status_code == 403
    assert send(client_with("add_queue"), "PUT", f"{URL}reports/", {}).status_code == 403
    assert send(client_with("change_queue"), "PUT", f"{URL}reports/", {}).status_code == 200
    assert not Queue.objects.filter(name="new").exists()


def test_patch__pauses_and_resumes_through_the_model(api):
    make_queue("reports", max_concurrent=3)
    assert send(api, "PATCH", f"{URL}reports/", {"paused": True}).json()["paused"] is True
    queue = Queue.objects.get(name="reports")
    assert queue.paused and queue.max_concurrent == 3
    assert send(api, "PATCH", f"{URL}reports/", {"paused": False}).json()["paused"] is False


def test_patch__checks_the_rate_against_stored_fields(api):
    make_queue("reports", rate_numerator=5, rate_period="minute")
    assert send(api, "PATCH", f"{URL}reports/", {"rate_numerator": 9}).status_code == 200
    assert "rate_numerator" in errors_of(
        send(api, "PATCH", f"{URL}reports/", {"rate_numerator": None})
    )
    assert Queue.objects.get(name="reports").rate_numerator == 9


def test_patch__unknown_queue_is_404(api):
    assert send(api, "PATCH", f"{URL}nothing/", {"paused": True}).status_code == 404


def test_patch__bad_field_changes_nothing(api):
    make_queue("reports")
    errors = errors_of(send(api, "PATCH", f"{URL}reports/", {"paused": True, "max_concurrent": -1}))
    assert "max_concurrent" in errors and not Queue.objects.get(name="reports").paused


def test_delete__an_unused_queue(api):
    make_queue("spare")
    assert send(api, "DELETE", f"{URL}spare/").status_code == 204
    assert not Queue.objects.filter(name="spare").exists()


def test_delete__a_queue_with_waiting_jobs_is_409(api):
    queued_job()  # queue "mail"
    response = send(api, "DELETE", f"{URL}mail/")
    assert response.status_code == 409 and Queue.objects.filter(name="mail").exists()


def test_delete__finished_jobs_do_not_hold_a_queue(api):
    succeeded_job()  # queue "default"
    assert send(api, "DELETE", f"{URL}default/").status_code == 204


def test_delete__unknown_is_404(api):
    assert send(api, "DELETE", f"{URL}nothing/").status_code == 404


def test_every_method__needs_its_permission(client_with):
    make_queue("reports")
    viewer = client_with("view_queue")
    assert send(viewer, "GET", URL).status_code == 200
    assert send(viewer, "POST", URL, {"name": "x"}).status_code == 403
    assert send(viewer, "PATCH", f"{URL}reports/", {"paused": True}).status_code == 403
    assert send(viewer, "DELETE", f"{URL}reports/").status_code == 403
    assert send(client_with("add_queue"), "GET", URL).status_code == 403
    assert not Queue.objects.get(name="reports").paused
