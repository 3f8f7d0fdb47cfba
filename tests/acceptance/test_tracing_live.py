"""Tracing across processes: the test enqueues under a request span, a real ``runjobs`` worker
(``tests.otel_settings``: the SDK exporting to a file) runs the job; broken exporters; and a
worker and an enqueue with OpenTelemetry not importable at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from django_jobs.models import Job
from tests import otel
from tests.acceptance.conftest import ROOT, Workers, worker_env
from tests.api.conftest import make_user, send, token_client
from tests.testapp import jobs as defs

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


def _burst(env, *, timeout=120):
    command = Workers.command(("--burst", "--concurrency", "1"), False)
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _traced_worker(tmp_path, exporter="file", *, log=False):
    """A worker's environment with the SDK installed; its spans go to ``tmp_path``."""
    env = worker_env(log)
    env["DJANGO_SETTINGS_MODULE"] = "tests.otel_settings"
    env[otel.SPANS_ENV] = str(tmp_path / "spans.jsonl")
    env[otel.EXPORTER_ENV] = exporter
    return env


def _hex(span_context, width):
    return format(span_context.span_id if width == 16 else span_context.trace_id, f"0{width}x")


def test_trace__spans_the_request_that_enqueued_and_the_worker_that_ran_it(tmp_path):
    client = token_client(make_user(superuser=True))
    with otel.installed() as exporter:
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("POST /jobs/api/jobs/", kind=SpanKind.SERVER) as request:
            response = send(
                client, "POST", "/jobs/api/jobs/", {"name": defs.add.name, "args": [2, 3]}
            )
        [producer] = [
            otel.as_dict(s) for s in exporter.get_finished_spans() if s.name != request.name
        ]
    assert response.status_code == 201
    done = _burst(_traced_worker(tmp_path, log=True))
    [consumer] = otel.read_spans(tmp_path / "spans.jsonl")
    trace_id = _hex(request.get_span_context(), 32)
    assert producer["trace_id"] == consumer["trace_id"] == trace_id
    assert producer["parent_id"] == _hex(request.get_span_context(), 16)
    assert (consumer["kind"], consumer["parent_id"]) == ("CONSUMER", producer["span_id"])
    assert consumer["attributes"]["messaging.message.id"] == response.json()["id"]
    assert consumer["attributes"]["messaging.django_jobs.outcome"] == "succeeded"
    started = next(line for line in done.stderr.splitlines() if line.startswith("job.started"))
    assert f"trace_id={trace_id} span_id={consumer['span_id']}" in started
    assert Job.objects.get(pk=response.json()["id"]).result == 5


def test_trace__retries_are_new_spans_of_one_trace_and_record_the_exception(tmp_path):
    with otel.installed() as exporter:
        defs.always_fails.enqueue("boom")
        [producer] = [otel.as_dict(s) for s in exporter.get_finished_spans()]
    _burst(_traced_worker(tmp_path))
    attempts = otel.read_spans(tmp_path / "spans.jsonl")
    assert [a["attributes"]["messaging.django_jobs.attempt"] for a in attempts] == [1, 2, 3]
    assert len({a["span_id"] for a in attempts}) == 3
    for attempt in attempts:
        assert (attempt["trace_id"], attempt["parent_id"]) == (
            producer["trace_id"],
            producer["span_id"],
        )
        assert attempt["status"] == "ERROR"
        [event] = attempt["events"]
        assert event["name"] == "exception"
        assert event["attributes"]["exception.message"] == "boom"
        assert "Traceback" in event["attributes"]["exception.stacktrace"]


@pytest.mark.parametrize("exporter", ["raising", "hanging"])
def test_broken_exporter__never_fails_or_slows_a_job(tmp_path, exporter):
    """``raising``: every export raises, in the job's thread (SimpleSpanProcessor);
    ``hanging``: a collector that never answers (each export waits 30 s, BatchSpanProcessor)."""
    with otel.installed():
        jobs = [defs.add.enqueue(i, 1) for i in range(3)]
    began = time.monotonic()
    _burst(_traced_worker(tmp_path, exporter), timeout=60)
    elapsed = time.monotonic() - began
    for job in jobs:
        job.refresh_from_db()
        assert (job.state, job.result) == ("succeeded", job.args[0] + 1)
        assert job.run_duration.total_seconds() < 1
    assert elapsed < 20, f"the worker took {elapsed:.1f} s"  # a hung export is not waited out


BLOCKER = """
import sys


class _NoOpenTelemetry:
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}")


sys.meta_path.insert(0, _NoOpenTelemetry())
"""

ENQUEUE = """
import django

django.setup()
from django_jobs import tracing
from tests.testapp import jobs

assert not tracing.ENABLED and "opentelemetry" not in __import__("sys").modules
one = jobs.add.using(meta={"traceparent": "00-stale", "team": "a"}).enqueue(1, 2)
many = jobs.add.enqueue_many([(3, 4), (5, 6)])
print(" ".join(str(j.pk) for j in [one, *many]))
"""


def test_without_opentelemetry__everything_works_and_no_trace_key_is_written(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = worker_env(log=True)
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    enqueued = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(ENQUEUE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert enqueued.returncode == 0, enqueued.stderr
    done = _burst(env)
    assert "trace_id" not in done.stderr and "job.succeeded" in done.stderr
    jobs = Job.objects.filter(pk__in=enqueued.stdout.split()).order_by("id")
    assert [(j.state, j.result) for j in jobs] == [
        ("succeeded", 3),
        ("succeeded", 7),
        ("succeeded", 11),
    ]
    assert [j.meta for j in jobs] == [{"team": "a"}, {}, {}]
