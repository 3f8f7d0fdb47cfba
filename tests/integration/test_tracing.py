"""OpenTelemetry tracing in this process: producer spans, stored context, attempt spans, the
log lines and the admin page (the worker processes: tests/acceptance/test_tracing_live.py)."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from django_jobs import tracing
from django_jobs.models import Job
from django_jobs.testing import run_jobs
from tests import otel
from tests.api.conftest import make_user, send, token_client
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db


@pytest.fixture
def spans():
    with otel.installed() as exporter:
        yield exporter


def _finished(exporter, kind=None):
    found = [otel.as_dict(s) for s in exporter.get_finished_spans()]
    return [s for s in found if kind is None or s["kind"] == kind]


def _traceparent(span):
    return f"00-{span['trace_id']}-{span['span_id']}-{span['flags']}"


def test_enqueue__producer_span_and_its_context_stored_with_the_job(spans):
    job = defs.add.enqueue(1, 2)
    [send] = _finished(spans)
    assert (send["name"], send["kind"], send["parent_id"]) == ("send default", "PRODUCER", None)
    assert send["attributes"] == {
        "messaging.system": "django_jobs",
        "messaging.destination.name": "default",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.django_jobs.definition": defs.add.name,
        "messaging.message.id": str(job.pk),
    }
    job.refresh_from_db()
    assert job.meta == {"traceparent": _traceparent(send)}


def test_enqueue__child_of_the_span_current_at_the_call(spans):
    with trace.get_tracer("test").start_as_current_span("GET /signup") as request:
        defs.add.enqueue(1, 2)
    [send] = _finished(spans, "PRODUCER")
    assert send["trace_id"] == format(request.get_span_context().trace_id, "032x")
    assert send["parent_id"] == format(request.get_span_context().span_id, "016x")


def test_attempt__consumer_span_is_a_child_of_the_enqueue(spans):
    job = defs.add.enqueue(1, 2)
    run_jobs()
    [send] = _finished(spans, "PRODUCER")
    [process] = _finished(spans, "CONSUMER")
    assert process["name"] == "process default"
    assert (process["trace_id"], process["parent_id"]) == (send["trace_id"], send["span_id"])
    assert process["attributes"] == {
        "messaging.system": "django_jobs",
        "messaging.destination.name": "default",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.message.id": str(job.pk),
        "messaging.django_jobs.definition": defs.add.name,
        "messaging.django_jobs.version": 1,
        "messaging.django_jobs.attempt": 1,
        "messaging.django_jobs.outcome": "succeeded",
    }
    assert process["status"] == "UNSET" and process["events"] == []


def test_attempt__failures_record_the_exception_and_retries_stay_in_the_trace(spans):
    defs.always_fails.enqueue("boom")
    run_jobs()
    [send] = _finished(spans, "PRODUCER")
    attempts = _finished(spans, "CONSUMER")
    assert [a["attributes"]["messaging.django_jobs.attempt"] for a in attempts] == [1, 2, 3]
    for attempt in attempts:
        assert (attempt["trace_id"], attempt["parent_id"]) == (send["trace_id"], send["span_id"])
        assert attempt["status"] == "ERROR"
        assert attempt["attributes"]["messaging.django_jobs.outcome"] == "failed"
        [event] = attempt["events"]
        assert event["name"] == "exception"
        assert event["attributes"]["exception.message"] == "boom"
    assert len({a["span_id"] for a in attempts}) == 3


def test_enqueue_many__one_span_and_each_attempt_links_to_it(spans):
    jobs = defs.add.enqueue_many([(1, 2), (3, 4)])
    [send] = _finished(spans)
    assert send["attributes"]["messaging.batch.message_count"] == 2
    assert "messaging.message.id" not in send["attributes"]
    for job in jobs:
        job.refresh_from_db()
        assert job.meta == {"traceparent": _traceparent(send), "trace_link": True}
    run_jobs()
    attempts = _finished(spans, "CONSUMER")
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt["parent_id"] is None and attempt["trace_id"] != send["trace_id"]
        assert attempt["links"] == [{"trace_id": send["trace_id"], "span_id": send["span_id"]}]


def test_enqueue__no_key_without_a_tracer_provider():
    job = defs.add.using(meta={"traceparent": "stale", "team": "a"}).enqueue(1, 2)
    job.refresh_from_db()
    assert job.meta == {"team": "a"}


def test_resubmit__takes_the_context_of_the_resubmit_not_the_old_one(spans):
    job = defs.add.enqueue(1, 2)
    run_jobs()
    job.refresh_from_db()
    with trace.get_tracer("test").start_as_current_span("POST /admin/resubmit") as request:
        copy = job.resubmit()
    assert copy.meta["traceparent"].split("-")[2] == format(
        request.get_span_context().span_id, "016x"
    )
    assert job.resubmit().meta == {}  # no span current: no stale context either


def test_enqueue__invalid_call_ends_its_span_with_the_error(spans):
    with pytest.raises(TypeError):
        defs.add.enqueue(1, 2, 3)
    [send] = _finished(spans)
    assert send["status"] == "ERROR" and send["events"][0]["name"] == "exception"


def test_tasks_backend__enqueue_is_traced(spans):
    from tests.tasksapp import tasks

    result = tasks.add.enqueue(1, b=2)
    [send] = _finished(spans)
    assert Job.objects.get(pk=result.id).meta["traceparent"] == _traceparent(send)


def test_api__submit_is_traced_under_the_request_span(spans):
    client = token_client(make_user(superuser=True))
    with trace.get_tracer("test").start_as_current_span("POST /jobs/api/jobs/") as request:
        response = send(client, "POST", "/jobs/api/jobs/", {"name": defs.add.name, "args": [1, 2]})
    assert response.status_code == 201
    [send_span] = _finished(spans, "PRODUCER")
    assert send_span["parent_id"] == format(request.get_span_context().span_id, "016x")
    assert response.json()["meta"]["traceparent"] == _traceparent(send_span)


def test_logs__attempt_lines_carry_trace_and_span_ids(
    spans, caplog, django_capture_on_commit_callbacks
):
    defs.add.enqueue(1, 2)
    with (
        caplog.at_level(logging.INFO, logger="django_jobs"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run_jobs()
    [process] = _finished(spans, "CONSUMER")
    lines = {r.event: r for r in caplog.records if hasattr(r, "event")}
    for event in ("job.started", "job.succeeded"):
        assert lines[event].jobs["trace_id"] == process["trace_id"]
        assert lines[event].jobs["span_id"] == process["span_id"]
        assert f"trace_id={process['trace_id']}" in lines[event].getMessage()


def test_logs__no_ids_without_a_span(caplog):
    defs.add.enqueue(1, 2)
    with caplog.at_level(logging.INFO, logger="django_jobs"):
        run_jobs()
    started = next(r for r in caplog.records if getattr(r, "event", "") == "job.started")
    assert "trace_id" not in started.jobs


class _Broken(SpanProcessor):
    def on_start(self, span, parent_context=None):
        raise RuntimeError("processor broken at start")

    def on_end(self, span):
        raise RuntimeError("processor broken at end")


def test_broken_tracing__enqueue_and_job_go_on(caplog):
    provider = TracerProvider()
    provider.add_span_processor(_Broken())
    otel.set_provider(provider)
    try:
        job = defs.add.enqueue(1, 2)
        assert run_jobs() == 1
    finally:
        otel.set_provider(None)
    job.refresh_from_db()
    assert (job.state, job.result) == ("succeeded", 3)


def test_admin__job_page_shows_the_trace_id(spans, admin_client, settings):
    job = defs.add.enqueue(1, 2)
    [send] = _finished(spans)
    url = reverse("admin:django_jobs_job_change", args=[job.pk])
    page = admin_client.get(url).content.decode()
    assert f"<code>{send['trace_id']}</code>" in page
    settings.DJANGO_JOBS_TRACE_URL = "https://tempo.example.com/trace/{trace_id}?a=1&b=2"
    page = admin_client.get(url).content.decode()
    link = f"https://tempo.example.com/trace/{send['trace_id']}?a=1&amp;b=2"
    assert f'<a href="{link}"><code>{send["trace_id"]}</code></a>' in page


def test_admin__job_page_without_a_trace(admin_client):
    job = defs.add.enqueue(1, 2)
    page = admin_client.get(reverse("admin:django_jobs_job_change", args=[job.pk]))
    field = page.content.decode().split("field-trace", 1)[1].split("</div>", 3)
    assert page.status_code == 200 and '<div class="readonly">-' in "".join(field)


def test_settings__trace_url_needs_the_placeholder(settings):
    from django_jobs.conf import jobs_settings

    settings.DJANGO_JOBS_TRACE_URL = "https://tempo.example.com/trace/"
    with pytest.raises(Exception, match="trace_id"):
        jobs_settings.TRACE_URL
    settings.DJANGO_JOBS_TRACE_URL = "https://x/{trace_id}/{span}"
    with pytest.raises(Exception, match="placeholder"):
        jobs_settings.TRACE_URL


def test_trace_id__read_from_the_stored_traceparent():
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert tracing.trace_id({"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}) == trace_id
    for meta in ({}, {"traceparent": "00-stale"}, {"traceparent": f"00-{'0' * 32}-1-01"}, None):
        assert tracing.trace_id(meta) is None
