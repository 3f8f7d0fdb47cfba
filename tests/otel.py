"""OpenTelemetry SDK set-ups for the tracing tests: in this process, and in a worker's.

In this process, ``installed()`` puts a ``TracerProvider`` exporting to an
``InMemorySpanExporter`` in place for one test, then removes it (the API lets a provider be
set once per process; the tests reset that, as OpenTelemetry's own test helpers do).

A worker process cannot hand its in-memory spans back, so ``tests.otel_settings`` (the
worker's settings module) installs ``JsonLinesExporter``, which appends each finished span to
the file named by ``DJANGO_JOBS_TEST_SPANS``, and ``read_spans()`` reads them back.
``DJANGO_JOBS_TEST_EXPORTER`` picks a broken exporter instead: ``raising`` (every export
raises) or ``hanging`` (every export blocks, like a collector that does not answer).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

SPANS_ENV = "DJANGO_JOBS_TEST_SPANS"
EXPORTER_ENV = "DJANGO_JOBS_TEST_EXPORTER"


def set_provider(provider: TracerProvider | None) -> None:
    """Make ``provider`` the global one (``None``: back to the API's no-op proxy)."""
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    if provider is not None:
        trace.set_tracer_provider(provider)


@contextmanager
def installed() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    set_provider(provider)
    try:
        yield exporter
    finally:
        set_provider(None)
        provider.shutdown()


def as_dict(span: ReadableSpan) -> dict[str, Any]:
    """A finished span as the worker writes it and the tests compare it."""
    context = span.get_span_context()
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "flags": format(context.trace_flags, "02x"),
        "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
        "links": [
            {
                "trace_id": format(k.context.trace_id, "032x"),
                "span_id": format(k.context.span_id, "016x"),
            }
            for k in span.links
        ],
        "attributes": dict(span.attributes or {}),
        "status": span.status.status_code.name,
        "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events],
        "start": span.start_time,
        "end": span.end_time,
    }


class JsonLinesExporter(SpanExporter):
    """Appends each span as one JSON line; several worker processes may share the file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        text = "".join(json.dumps(as_dict(s), default=str) + "\n" for s in spans)
        with self.lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
        return SpanExportResult.SUCCESS


class RaisingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionError("the collector refused the connection")


class HangingExporter(SpanExporter):
    """A collector that never answers: each export waits far longer than a job runs."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        time.sleep(30)
        return SpanExportResult.FAILURE


def install_for_worker() -> None:
    """The worker's set-up (``tests.otel_settings``), chosen by the environment."""
    kind = os.environ.get(EXPORTER_ENV, "file")
    provider = TracerProvider()
    if kind == "raising":
        provider.add_span_processor(SimpleSpanProcessor(RaisingExporter()))
    elif kind == "hanging":
        provider.add_span_processor(BatchSpanProcessor(HangingExporter(), max_export_batch_size=1))
    else:
        provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(os.environ[SPANS_ENV])))
    trace.set_tracer_provider(provider)


def read_spans(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
