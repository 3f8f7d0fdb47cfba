"""Dead letters: browse, one with its history, resubmit (ids or definition), delete."""

from __future__ import annotations

import uuid

import pytest

from django_jobs.models import DeadLetter, Job
from django_jobs.states import State
from tests.api.conftest import API, dead_letter, errors_of, send
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db
URL = f"{API}dead-letters/"


def test_browse__newest_first(api):
    old, new = dead_letter("one"), dead_letter("two")
    body = send(api, "GET", URL).json()
    assert [d["id"] for d in body["results"]] == [str(new.job_id), str(old.job_id)]
    assert body["results"][0]["name"] == "tests.testapp.jobs.always_fails"
    assert body["next"] is None


def test_browse__filter_by_definition_and_limit(api):
    for i in range(3):
        dead_letter(str(i))
    page = send(api, "GET", f"{URL}?name=tests.testapp.jobs.always_fails&limit=2").json()
    assert len(page["results"]) == 2 and page["next"]
    assert send(api, "GET", page["next"]).json()["next"] is None
    assert send(api, "GET", f"{URL}?name=other.definition").json()["results"] == []


def test_browse__filter_by_resubmitted(api):
    letter, _ = dead_letter(), dead_letter()
    letter.resubmit()
    done = send(api, "GET", f"{URL}?resubmitted=true").json()["results"]
    assert [d["id"] for d in done] == [str(letter.job_id)]
    assert done[0]["resubmitted_job"] is not None
    assert len(send(api, "GET", f"{URL}?resubmitted=false").json()["results"]) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=-1", "limit"),
        ("limit=x", "limit"),
        ("name=a%20b", "name"),
        ("resubmitted=maybe", "resubmitted"),
    ],
)
def test_browse__bad_query_is_400(api, query, field):
    assert field in errors_of(send(api, "GET", f"{URL}?{query}"))


def test_history__the_job_and_every_attempt(api):
    letter = dead_letter("kaput")
    body = send(api, "GET", f"{URL}{letter.job_id}/").json()
    assert body["job"]["state"] == State.FAILED and body["job"]["args"] == ["kaput"]
    assert [a["number"] for a in body["attempts"]] == [1, 2, 3]
    assert all(a["error_type"].endswith("RuntimeError") for a in body["attempts"])


def test_history__unknown_is_404_and_malformed_is_400(api):
    assert send(api, "GET", f"{URL}{uuid.uuid4()}/").status_code == 404
    assert "id" in errors_of(send(api, "GET", f"{URL}xyz/"))


def test_history__a_job_without_dead_letter_is_404(api):
    job = defs.add.enqueue(1, 2)
    assert send(api, "GET", f"{URL}{job.pk}/").status_code == 404


def test_resubmit__by_ids(api):
    letter = dead_letter("again")
    missing = uuid.uuid4()
    response = send(api, "POST", f"{URL}resubmit/", {"ids": [str(letter.job_id), str(missing)]})
    assert response.status_code == 200
    body = response.json()
    new = Job.objects.get(pk=body["resubmitted"][0]["job"])
    assert new.args == ["again"] and new.state == State.QUEUED and new.max_attempts == 3
    assert body["skipped"] == [{"id": str(missing), "reason": "no such dead letter"}]


def test_resubmit__twice_is_skipped(api):
    letter = dead_letter()
    send(api, "POST", f"{URL}resubmit/", {"ids": [str(letter.job_id)]})
    body = send(api, "POST", f"{URL}resubmit/", {"ids": [str(letter.job_id)]}).json()
    assert body == {
        "resubmitted": [],
        "skipped": [{"id": str(letter.job_id), "reason": "resubmitted already"}],
    }


def test_resubmit__keep_retry_count(api):
    letter = dead_letter()
    body = {"ids": [str(letter.job_id)], "reset_retry_count": False}
    new_id = send(api, "POST", f"{URL}resubmit/", body).json()["resubmitted"][0]["job"]
    assert Job.objects.get(pk=new_id).max_attempts == 1


def test_resubmit__by_definition_oldest_first_up_to_limit(api):
    letters = [dead_letter(str(i)) for i in range(3)]
    body = {"name": "tests.testapp.jobs.always_fails", "limit": 2}
    done = send(api, "POST", f"{URL}resubmit/", body).json()["resubmitted"]
    assert [d["id"] for d in done] == [str(letters[0].job_id), str(letters[1].job_id)]
    pending = DeadLetter.objects.filter(resubmitted_at__isnull=True)
    assert list(pending.values_list("job_id", flat=True)) == [letters[2].job_id]


def test_resubmit__unregistered_definition_is_skipped(api, clean_registry):
    letter = dead_letter()
    clean_registry.unregister(letter.name)
    body = send(api, "POST", f"{URL}resubmit/", {"ids": [str(letter.job_id)]}).json()
    assert body["skipped"] == [
        {"id": str(letter.job_id), "reason": "no worker knows this definition"}
    ]
    assert DeadLetter.objects.get(pk=letter.pk).resubmitted_at is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"ids", "name"}),
        ({"ids": ["x"]}, {"ids"}),
        ({"ids": [str(uuid.uuid4())], "name": "a"}, {"ids", "name"}),
        ({"ids": [str(uuid.uuid4())], "limit": 3}, {"limit"}),
        ({"name": "a", "limit": -1}, {"limit"}),
        ({"name": "a", "limit": 0}, {"limit"}),
        ({"name": "a", "reset_retry_count": "yes"}, {"reset_retry_count"}),
        ({"name": "a b"}, {"name"}),
    ],
)
def test_resubmit__bad_input_is_400_and_resubmits_nothing(api, body, fields):
    dead_letter()
    assert set(errors_of(send(api, "POST", f"{URL}resubmit/", body))) == fields
    assert not DeadLetter.objects.filter(resubmitted_at__isnull=False).exists()


def test_resubmit__needs_resubmit_job(client_with):
    letter = dead_letter()
    client = client_with("view_deadletter", "change_deadletter")
    response = send(client, "POST", f"{URL}resubmit/", {"ids": [str(letter.job_id)]})
    assert response.status_code == 403
    assert DeadLetter.objects.get(pk=letter.pk).resubmitted_at is None


def test_delete__one_with_its_job(api):
    letter = dead_letter()
    assert send(api, "DELETE", f"{URL}{letter.job_id}/").status_code == 204
    assert not DeadLetter.objects.exists() and not Job.objects.filter(pk=letter.job_id).exists()
    assert send(api, "DELETE", f"{URL}{letter.job_id}/").status_code == 404


def test_delete__many(api):
    first, second, keep = dead_letter(), dead_letter(), dead_letter()
    missing = uuid.uuid4()
    ids = [str(first.job_id), str(second.job_id), str(missing)]
    body = send(api, "POST", f"{URL}delete/", {"ids": ids}).json()
    assert body == {"deleted": ids[:2], "not_found": [str(missing)]}
    assert list(DeadLetter.objects.values_list("pk", flat=True)) == [keep.pk]


@pytest.mark.parametrize("body", [{}, {"ids": []}, {"ids": ["nope"]}, {"ids": {"a": 1}}])
def test_delete_many__bad_ids_is_400_and_deletes_nothing(api, body):
    dead_letter()
    assert "ids" in errors_of(send(api, "POST", f"{URL}delete/", body))
    assert DeadLetter.objects.count() == 1


def test_every_method__needs_its_permission(client_with):
    letter = dead_letter()
    viewer = client_with("view_deadletter")
    assert send(viewer, "GET", f"{URL}{letter.job_id}/").status_code == 200
    assert send(viewer, "DELETE", f"{URL}{letter.job_id}/").status_code == 403
    body = {"ids": [str(letter.job_id)]}
    assert send(viewer, "POST", f"{URL}delete/", body).status_code == 403
    assert send(client_with("view_job"), "GET", URL).status_code == 403
    assert DeadLetter.objects.count() == 1
