"""GET jobs/, jobs/{id}/ and jobs/{id}/attempts/: status, list with filters and pages."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_jobs.ids import new_job_id
from tests.api.conftest import (
    API,
    dead_letter,
    errors_of,
    queued_job,
    running_job,
    scheduled_job,
    send,
    succeeded_job,
)
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db
URL = f"{API}jobs/"


def test_status__the_whole_job(api):
    job = succeeded_job()
    body = send(api, "GET", f"{URL}{job.pk}/").json()
    assert (body["id"], body["state"], body["result"], body["args"]) == (
        str(job.pk),
        "succeeded",
        3,
        [1, 2],
    )
    assert body["attempts"] == 1 and body["run_seconds"] is not None


def test_status__found_by_the_ulid_of_its_id(api):
    from django_jobs.ids import _CROCKFORD

    job = queued_job()
    value, text = job.pk.int, ""
    for _ in range(26):
        value, digit = divmod(value, 32)
        text = _CROCKFORD[digit] + text
    assert send(api, "GET", f"{URL}{text}/").json()["id"] == str(job.pk)


def test_status__unknown_id_is_404(api):
    response = send(api, "GET", f"{URL}{uuid.uuid4()}/")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_status__malformed_id_is_400_naming_id(api):
    assert "id" in errors_of(send(api, "GET", f"{URL}not-a-job/"))


def test_status__needs_view_job(client_with):
    job = queued_job()
    assert send(client_with("add_job"), "GET", f"{URL}{job.pk}/").status_code == 403
    assert send(client_with("view_job"), "GET", f"{URL}{job.pk}/").status_code == 200


def test_list__newest_first_without_heavy_fields(api):
    first = queued_job()
    time.sleep(0.002)  # ids are time-ordered to the millisecond
    second = queued_job()
    results = send(api, "GET", URL).json()["results"]
    assert [r["id"] for r in results] == [str(second.pk), str(first.pk)]
    assert "args" not in results[0] and "result" not in results[0]


def test_list__filters_by_state_queue_and_definition(api):
    queued, scheduled, running, done = queued_job(), scheduled_job(), running_job(), succeeded_job()

    def ids(query: str) -> set[str]:
        return {r["id"] for r in send(api, "GET", f"{URL}?{query}").json()["results"]}

    assert ids("state=queued") == {str(queued.pk)}
    assert ids("state=scheduled&state=running") == {str(scheduled.pk), str(running.pk)}
    assert ids("state=scheduled,succeeded") == {str(scheduled.pk), str(done.pk)}
    assert ids("queue=mail") == {str(queued.pk)}
    assert ids("name=tests.testapp.jobs.add&state=succeeded") == {str(done.pk)}
    assert ids("name=nothing.like.this") == set()


def test_list__pages_follow_next_without_counting(api):
    made = {str(defs.add.enqueue(i, i).pk) for i in range(5)}
    seen, url, pages = [], f"{URL}?limit=2&queue=default", 0
    while url:
        with CaptureQueriesContext(connection) as queries:
            body = send(api, "GET", url).json()
        on_jobs = [q["sql"] for q in queries.captured_queries if "django_jobs_job" in q["sql"]]
        assert len(on_jobs) == 1 and "COUNT(" not in on_jobs[0].upper()
        seen += [r["id"] for r in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3 and len(seen) == 5 and set(seen) == made
    assert seen == sorted(seen, reverse=True)


def test_list__next_keeps_the_filters(api):
    for i in range(3):
        defs.add.enqueue(i, i)
    query = parse_qs(urlsplit(send(api, "GET", f"{URL}?limit=1&state=queued").json()["next"]).query)
    assert query["state"] == ["queued"] and query["limit"] == ["1"] and "cursor" in query


def test_list__last_page_has_no_next(api):
    queued_job()
    assert send(api, "GET", f"{URL}?limit=1").json()["next"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=done", "state"),
        ("state=QUEUED", "state"),
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("limit=1&limit=2", "limit"),
        ("cursor=xyz", "cursor"),
        ("queue=bad%20queue", "queue"),
        ("queue=a%00b", "queue"),
        ("name=%00", "name"),
        ("sort=id", "sort"),
    ],
)
def test_list__bad_query_is_400_naming_the_parameter(api, query, field):
    assert field in errors_of(send(api, "GET", f"{URL}?{query}"))


def test_list__needs_view_job(client_with):
    assert send(client_with("add_job"), "GET", URL).status_code == 403


def test_attempts__every_attempt_oldest_first(api):
    letter = dead_letter("kaput")
    body = send(api, "GET", f"{URL}{letter.job_id}/attempts/").json()
    assert [a["number"] for a in body["attempts"]] == [1, 2, 3]
    assert {a["outcome"] for a in body["attempts"]} == {"failed"}
    assert body["attempts"][0]["error_message"] == "kaput"
    assert "RuntimeError" in body["attempts"][0]["traceback"]


def test_attempts__none_yet(api):
    assert send(api, "GET", f"{URL}{queued_job().pk}/attempts/").json()["attempts"] == []


def test_attempts__unknown_and_malformed_ids(api):
    assert send(api, "GET", f"{URL}{new_job_id()}/attempts/").status_code == 404
    assert "id" in errors_of(send(api, "GET", f"{URL}1234/attempts/"))
