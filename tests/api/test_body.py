"""Request bodies: size limit (413), media type (415), strict JSON the database can store."""

from __future__ import annotations

import pytest

from django_jobs.models import Job
from tests.api.conftest import API, errors_of, queued_job, send

pytestmark = pytest.mark.django_db
SUBMIT = f"{API}jobs/"


def test_too_large_by_content_length_is_413(api, settings):
    settings.DJANGO_JOBS_API_MAX_BODY_BYTES = 100
    body = {"name": "tests.testapp.jobs.add", "args": ["x" * 200, 1]}
    response = send(api, "POST", SUBMIT, body)
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert not Job.objects.exists()


def test_too_large_for_django_itself_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50
    response = send(api, "POST", SUBMIT, {"name": "tests.testapp.jobs.add", "args": ["x" * 80]})
    assert response.status_code == 413


def test_at_the_limit_is_accepted(api, settings):
    body = '{"name": "tests.testapp.jobs.add", "args": [1, 2]}'
    settings.DJANGO_JOBS_API_MAX_BODY_BYTES = len(body)
    assert send(api, "POST", SUBMIT, body).status_code == 201


def test_not_json_media_type_is_415(api):
    response = send(api, "POST", SUBMIT, "name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_json_suffix_media_type_is_accepted(api):
    body = '{"name": "tests.testapp.jobs.add", "args": [1, 2]}'
    assert (
        send(api, "POST", SUBMIT, body, content_type="application/vnd.api+json").status_code == 201
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"name": "x",}',
        b"{'name': 'x'}",
        b'{"name": NaN}',
        b'{"name": Infinity}',
        b'{"args": [1e999]}',
        b"\xff\xfe{}",
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_malformed_json_is_400_on_body(api, raw):
    errors = errors_of(send(api, "POST", SUBMIT, raw))
    assert "body" in errors and errors["body"][0].startswith("is not valid JSON")


def test_too_deep_is_400_on_the_member(api):
    deep = "[" * 70 + "]" * 70
    raw = f'{{"name": "tests.testapp.jobs.add", "args": [{deep}, 1]}}'
    assert "nested" in errors_of(send(api, "POST", SUBMIT, raw))["args"][0]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (r'{"name": "tests.testapp.jobs.add", "args": ["a\u0000", 1]}', "args"),
        (r'{"name": "tests.testapp.jobs.add", "args": [1, 2], "key": "\ud83d"}', "key"),
        (r'{"name": "tests.testapp.jobs.add", "args": [1, 2], "meta": {"\u0000": 1}}', "meta"),
        (r'{"name": "tests.testapp.jobs.add", "a\u0000": 1}', "body"),
        (r'["\u0000"]', "body"),
    ],
)
def test_unstorable_text_is_400_on_its_member(api, raw, field):
    assert field in errors_of(send(api, "POST", SUBMIT, raw))
    assert not Job.objects.exists()


def test_bad_content_length_is_400(api):
    response = send(api, "POST", SUBMIT, "{}", CONTENT_LENGTH="ten")
    assert "body" in errors_of(response)


def test_no_body_where_none_is_required(api):
    job = queued_job()
    assert send(api, "POST", f"{API}jobs/{job.pk}/cancel/").status_code == 200


def test_an_empty_object_where_no_fields_are_taken(api):
    job = queued_job()
    assert send(api, "POST", f"{API}jobs/{job.pk}/cancel/", {}).status_code == 200


def test_fields_where_none_are_taken_are_400(api):
    job = queued_job()
    errors = errors_of(send(api, "POST", f"{API}jobs/{job.pk}/cancel/", {"force": True}))
    assert errors == {"force": ["is not a field here; none is taken"]}
    assert Job.objects.get(pk=job.pk).state == "queued"
