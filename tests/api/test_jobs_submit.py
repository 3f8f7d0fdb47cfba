"""POST jobs/: submit a job of a registered definition."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from django_jobs.ids import parse_job_id
from django_jobs.models import Job, Queue
from django_jobs.states import State
from tests.api.conftest import API, errors_of, send

pytestmark = pytest.mark.django_db
URL = f"{API}jobs/"
ULID = "01JBKR2E5F3G4H5J6K7L8M9N0P"


def test_submit__creates_a_queued_job(api):
    response = send(api, "POST", URL, {"name": "send_email", "version": 1, "args": ["a@x"]})
    assert response.status_code == 201
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.name, job.version, job.queue, job.state) == ("send_email", 1, "mail", "queued")
    assert job.args == ["a@x"] and job.priority == 5


def test_submit__latest_version_by_default(api):
    response = send(api, "POST", URL, {"name": "send_email", "kwargs": {"to": "a@x", "cc": "b"}})
    assert response.status_code == 201
    assert response.json()["version"] == 2


def test_submit__client_chosen_ulid_is_the_job_id(api):
    response = send(
        api, "POST", URL, {"name": "tests.testapp.jobs.add", "args": [1, 2], "id": ULID}
    )
    assert response.status_code == 201
    assert response.json()["id"] == str(parse_job_id(ULID))
    assert send(api, "GET", f"{URL}{ULID}/").json()["id"] == str(parse_job_id(ULID))


def test_submit__client_chosen_uuid(api):
    pk = uuid.uuid4()
    response = send(
        api, "POST", URL, {"name": "tests.testapp.jobs.add", "args": [1, 2], "id": str(pk)}
    )
    assert response.status_code == 201 and response.json()["id"] == str(pk)


def test_submit__the_same_id_twice_is_409(api):
    body = {"name": "tests.testapp.jobs.add", "args": [1, 2], "id": ULID}
    assert send(api, "POST", URL, body).status_code == 201
    response = send(api, "POST", URL, body)
    assert response.status_code == 409
    assert "id" in response.json()["errors"]
    assert Job.objects.count() == 1


def test_submit__options(api):
    run_at = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    body = {
        "name": "tests.testapp.jobs.add",
        "args": [1],
        "kwargs": {"b": 2},
        "queue": "bulk",
        "priority": -5,
        "run_at": run_at.isoformat(),
        "key": "k1",
        "meta": {"user": 42},
        "group_key": "g",
    }
    response = send(api, "POST", URL, body)
    assert response.status_code == 201
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.queue, job.priority, job.state, job.run_at) == ("bulk", -5, "scheduled", run_at)
    assert (job.key, job.meta, job.group_key, job.kwargs) == ("k1", {"user": 42}, "g", {"b": 2})
    assert Queue.objects.filter(name="bulk").exists()


def test_submit__delay_schedules_the_job(api):
    response = send(
        api, "POST", URL, {"name": "tests.testapp.jobs.add", "args": [1, 2], "delay": 60}
    )
    assert response.json()["state"] == State.SCHEDULED


def test_submit__taken_key_returns_the_existing_job_with_200(api):
    body = {"name": "tests.testapp.jobs.add", "args": [1, 2], "key": "once"}
    first = send(api, "POST", URL, body)
    second = send(api, "POST", URL, body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_submit__taken_key_with_raise_is_409_with_the_holder(api):
    body = {"name": "tests.testapp.jobs.add", "args": [1, 2], "key": "once"}
    first = send(api, "POST", URL, body).json()
    response = send(api, "POST", URL, {**body, "on_conflict": "raise"})
    assert response.status_code == 409
    assert response.json()["job"]["id"] == first["id"] and "key" in response.json()["errors"]


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "no.such.job"}, "name"),
        ({"name": "os.system", "args": ["rm -rf /"]}, "name"),
        ({"name": "send_email", "version": 9, "args": ["a"]}, "version"),
        ({"name": "send_email", "version": 0}, "version"),
        ({"name": ""}, "name"),
        ({"name": 12}, "name"),
        ({}, "name"),
        ({"name": "tests.testapp.jobs.add", "args": "[1, 2]"}, "args"),
        ({"name": "tests.testapp.jobs.add", "kwargs": "a=1"}, "kwargs"),
        ({"name": "tests.testapp.jobs.add", "kwargs": {"nope": 1}}, "kwargs"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2, 3]}, "args"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "id": "not-an-id"}, "id"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "id": "8" * 26}, "id"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "queue": "bad name"}, "queue"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "priority": 101}, "priority"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "priority": True}, "priority"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "priority": 1.5}, "priority"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "delay": -1}, "delay"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "run_at": "tomorrow"}, "run_at"),
        (
            {"name": "tests.testapp.jobs.add", "args": [1, 2], "run_at": "2030-01-01T00:00"},
            "run_at",
        ),
        (
            {"name": "tests.testapp.jobs.add", "args": [1, 2], "run_at": "2030-02-30T00:00Z"},
            "run_at",
        ),
        (
            {"name": "tests.testapp.jobs.add", "args": [1, 2], "run_at": "0001-01-01T00:00+05:00"},
            "run_at",
        ),
        (
            {
                "name": "tests.testapp.jobs.add",
                "args": [1, 2],
                "run_at": "2030-01-01T00:00Z",
                "delay": 5,
            },
            "delay",
        ),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "key": ""}, "key"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "key": "k" * 256}, "key"),
        (
            {"name": "tests.testapp.jobs.add", "args": [1, 2], "on_conflict": "ignore"},
            "on_conflict",
        ),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "meta": [1]}, "meta"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "extra": 1}, "extra"),
        ({"name": "tests.testapp.jobs.add", "args": [1, "\u0000"]}, "args"),
        ({"name": "tests.testapp.jobs.add", "args": [1, 2], "meta": {"a": "\ud800"}}, "meta"),
    ],
)
def test_submit__bad_field_is_400_naming_it_and_writes_nothing(api, body, field):
    response = send(api, "POST", URL, body)
    errors = errors_of(response)
    assert field in errors, errors
    assert all(isinstance(m, str) and m for m in errors[field])
    assert not Job.objects.exists() and not Queue.objects.filter(name="bad name").exists()


def test_submit__every_bad_field_is_reported_at_once(api):
    errors = errors_of(send(api, "POST", URL, {"name": 1, "priority": "high", "delay": "soon"}))
    assert set(errors) == {"name", "priority", "delay"}
    errors = errors_of(send(api, "POST", URL, {"name": "send_mail", "priority": 500}))
    assert set(errors) == {"name", "priority"}
    assert errors["name"] == ["no job definition 'send_mail' is registered"]


def test_submit__unknown_definition_message_says_so(api):
    errors = errors_of(send(api, "POST", URL, {"name": "send_email", "version": 7}))
    assert "registered versions: [1, 2]" in errors["version"][0]


def test_submit__body_must_be_an_object(api):
    assert "body" in errors_of(send(api, "POST", URL, [1, 2]))


def test_submit__needs_add_job(client_with):
    response = send(client_with("view_job"), "POST", URL, {"name": "tests.testapp.jobs.add"})
    assert response.status_code == 403
    assert not Job.objects.exists()
