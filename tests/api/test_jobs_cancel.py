"""POST jobs/{id}/cancel/, POST jobs/cancel/ and DELETE jobs/{id}/."""

from __future__ import annotations

import uuid

import pytest

from django_jobs.models import Job
from django_jobs.states import State
from tests.api.conftest import (
    API,
    errors_of,
    queued_job,
    running_job,
    scheduled_job,
    send,
    succeeded_job,
)

pytestmark = pytest.mark.django_db
URL = f"{API}jobs/"


@pytest.mark.parametrize("make", [queued_job, scheduled_job])
def test_cancel__a_waiting_job_is_cancelled_at_once(api, make):
    job = make()
    response = send(api, "POST", f"{URL}{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["state"] == State.CANCELLED
    assert Job.objects.get(pk=job.pk).state == State.CANCELLED


def test_cancel__a_running_job_is_asked_to_stop_with_202(api):
    job = running_job()
    response = send(api, "POST", f"{URL}{job.pk}/cancel/")
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == State.RUNNING and body["cancel_requested_at"] is not None


@pytest.mark.parametrize("make", [succeeded_job, lambda: Job.objects.get(pk=_cancelled().pk)])
def test_cancel__a_finished_job_is_409_with_its_state(api, make):
    job = make()
    response = send(api, "POST", f"{URL}{job.pk}/cancel/")
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "not_cancellable" and body["state"] == job.state
    assert body["id"] == str(job.pk)


def _cancelled() -> Job:
    job = queued_job()
    job.cancel()
    return job


def test_cancel__unknown_is_404_and_malformed_is_400(api):
    assert send(api, "POST", f"{URL}{uuid.uuid4()}/cancel/").status_code == 404
    assert "id" in errors_of(send(api, "POST", f"{URL}nope/cancel/"))


def test_cancel__needs_cancel_job(client_with):
    job = queued_job()
    assert (
        send(client_with("view_job", "change_job"), "POST", f"{URL}{job.pk}/cancel/").status_code
        == 403
    )
    assert Job.objects.get(pk=job.pk).state == State.QUEUED
    assert send(client_with("cancel_job"), "POST", f"{URL}{job.pk}/cancel/").status_code == 200


def test_cancel_many__reports_each_id(api):
    waiting, running, done, missing = queued_job(), running_job(), succeeded_job(), uuid.uuid4()
    ids = [str(waiting.pk), str(running.pk), str(done.pk), str(missing), str(waiting.pk)]
    response = send(api, "POST", f"{URL}cancel/", {"ids": ids})
    assert response.status_code == 200
    assert response.json() == {
        "cancelled": [str(waiting.pk)],
        "requested": [str(running.pk)],
        "not_cancellable": [{"id": str(done.pk), "state": "succeeded"}],
        "not_found": [str(missing)],
    }


@pytest.mark.parametrize(
    "body",
    [{}, {"ids": []}, {"ids": "abc"}, {"ids": [1]}, {"ids": ["ok", "x"]}, {"ids": ["0"] * 501}],
)
def test_cancel_many__bad_ids_is_400_and_cancels_nothing(api, body):
    job = queued_job()
    if body.get("ids") == ["ok", "x"]:
        body = {"ids": [str(job.pk), "x"]}
    errors = errors_of(send(api, "POST", f"{URL}cancel/", body))
    assert "ids" in errors
    assert Job.objects.get(pk=job.pk).state == State.QUEUED


def test_cancel_many__needs_cancel_job(client_with):
    job = queued_job()
    response = send(client_with("view_job"), "POST", f"{URL}cancel/", {"ids": [str(job.pk)]})
    assert response.status_code == 403


def test_delete__a_finished_job(api):
    job = succeeded_job()
    response = send(api, "DELETE", f"{URL}{job.pk}/")
    assert response.status_code == 204 and not response.content
    assert not Job.objects.filter(pk=job.pk).exists()


def test_delete__an_active_job_is_409_with_its_state(api):
    job = running_job()
    response = send(api, "DELETE", f"{URL}{job.pk}/")
    assert response.status_code == 409 and response.json()["state"] == State.RUNNING
    assert Job.objects.filter(pk=job.pk).exists()


def test_delete__unknown_is_404(api):
    assert send(api, "DELETE", f"{URL}{uuid.uuid4()}/").status_code == 404


def test_delete__needs_delete_job(client_with):
    job = succeeded_job()
    assert (
        send(client_with("view_job", "cancel_job"), "DELETE", f"{URL}{job.pk}/").status_code == 403
    )
    assert Job.objects.filter(pk=job.pk).exists()
