"""OpenTelemetry traces from the enqueue to each attempt, when ``opentelemetry-api`` is installed.

``enqueue()`` and ``enqueue_many()`` open a PRODUCER span (``send <queue>``) and store its W3C
trace context in the job's ``meta`` under the reserved keys ``traceparent`` and ``tracestate``;
a job of ``enqueue_many()`` also gets ``trace_link: true``. The worker opens a CONSUMER span
(``process <queue>``) for every attempt: a child of the stored context, or, for a job of an
``enqueue_many()``, the root of its own trace with a link to it (a batch of 10,000 jobs is not
one trace of 10,000 children). Retries are new spans under the same parent: the same trace.

Without ``opentelemetry-api`` the import below fails once, ``ENABLED`` is false and every
helper returns at once. With it, the spans go to whatever ``TracerProvider`` the project
installs (none: the API's no-op one, and no key is written). No helper ever raises into an
enqueue or a job: a failing tracer or exporter costs a warning in the log, nothing else.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import Link, SpanKind, Status, StatusCode
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # tracing is off; nothing else here is reached
    ENABLED = False
else:
    ENABLED = True
    _PROPAGATOR = TraceContextTextMapPropagator()

#: The keys of ``Job.meta`` that tracing owns: an enqueue overwrites or removes them.
TRACEPARENT, TRACESTATE, TRACE_LINK = "traceparent", "tracestate", "trace_link"
RESERVED_KEYS = (TRACEPARENT, TRACESTATE, TRACE_LINK)

#: ``messaging.system`` of every span.
SYSTEM = "django_jobs"

#: Outcomes that set the span's status to ERROR (a cancel or a shutdown is not an error).
ERROR_OUTCOMES = frozenset({"failed", "timeout"})

#: How long a worker process waits for its last spans to be exported when it ends.
FLUSH_MILLIS = 2_000

logger = logging.getLogger("django_jobs")


class Span:
    """One of our spans, current between ``__enter__`` and ``__exit__``, or none at all
    (``OFF``). No method raises; an exception of the block is recorded and goes on."""

    __slots__ = ("span", "token")

    def __init__(self, span: Any = None) -> None:
        self.span = span
        self.token: Any = None

    def __enter__(self) -> Span:
        if self.span is not None:
            try:
                self.token = otel_context.attach(trace.set_span_in_context(self.span))
            except Exception:
                _warn("could not make the span current")
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, traceback: Any) -> None:
        if self.span is None:
            return
        try:
            if exc is not None:
                self.span.record_exception(exc)
                self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            self.span.end()
        except Exception:
            _warn("could not end the span")
        finally:
            if self.token is not None:
                otel_context.detach(self.token)

    def sent(self, jobs: list[Any]) -> None:
        """After the INSERT: the id of a single job (a batch has its count already)."""
        if self.span is not None and len(jobs) == 1:
            self._set({"messaging.message.id": str(jobs[0].pk)})

    def ended(self, outcome: str, error: BaseException | None, message: str = "") -> None:
        """The attempt's outcome; its exception, and an ERROR status when it failed."""
        if self.span is None:
            return
        self._set({"messaging.django_jobs.outcome": str(outcome)})
        try:
            if error is not None:
                self.span.record_exception(error)
            if outcome in ERROR_OUTCOMES:
                self.span.set_status(Status(StatusCode.ERROR, message or str(outcome)))
        except Exception:
            _warn("could not record the outcome")

    def _set(self, attributes: dict[str, Any]) -> None:
        try:
            self.span.set_attributes(attributes)
        except Exception:
            _warn("could not set attributes")


#: The span of everything when tracing is off.
OFF = Span()


def producer(queue: str, name: str, count: int | None) -> Span:
    """The span of one ``enqueue()`` (``count`` None) or ``enqueue_many()`` of ``count`` jobs."""
    tracer = _tracer() if ENABLED else None
    if tracer is None:
        return OFF
    attributes: dict[str, Any] = {
        **_common(queue),
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.django_jobs.definition": name,
    }
    if count is not None:
        attributes["messaging.batch.message_count"] = count
    try:
        return Span(
            tracer.start_span(f"send {queue}", kind=SpanKind.PRODUCER, attributes=attributes)
        )
    except Exception:
        _warn("could not start the enqueue span")
        return OFF


def stamp(meta: dict[str, Any], *, link: bool) -> dict[str, Any]:
    """``meta`` with the current trace context in the reserved keys (and ``trace_link`` for
    a batch), or without those keys when no span is current (a resubmitted job's copy of
    ``meta`` keeps no stale context)."""
    for key in RESERVED_KEYS:
        meta.pop(key, None)
    if not ENABLED:
        return meta
    carrier: dict[str, str] = {}
    try:
        _PROPAGATOR.inject(carrier)  # writes nothing when no valid span is current
    except Exception:
        _warn("could not read the trace context")
    if TRACEPARENT in carrier:
        meta[TRACEPARENT] = carrier[TRACEPARENT]
        if carrier.get(TRACESTATE):
            meta[TRACESTATE] = carrier[TRACESTATE]
        if link:
            meta[TRACE_LINK] = True
    return meta


def consumer(job: Any) -> Span:
    """The span of one attempt of ``job``: a child of its stored context, or linked to it."""
    tracer = _tracer() if ENABLED else None
    if tracer is None:
        return OFF
    try:
        meta = job.meta if isinstance(job.meta, dict) else {}
        carrier = {k: meta[k] for k in (TRACEPARENT, TRACESTATE) if isinstance(meta.get(k), str)}
        parent = otel_context.Context()  # never the worker's own context
        links: list[Any] = []
        if carrier:
            stored = _PROPAGATOR.extract(carrier, context=parent)
            if meta.get(TRACE_LINK) is True:
                linked = trace.get_current_span(stored).get_span_context()
                links = [Link(linked)] if linked.is_valid else []
            else:
                parent = stored
        attributes = {
            **_common(job.queue),
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.message.id": str(job.pk),
            "messaging.django_jobs.definition": job.name,
            "messaging.django_jobs.version": job.version,
            "messaging.django_jobs.attempt": job.attempts,
        }
        span = tracer.start_span(
            f"process {job.queue}",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes=attributes,
        )
        context = span.get_span_context()
        if context.is_valid:  # for the job's log lines after the span (logs.job_fields)
            job._trace_ids = {
                "trace_id": format(context.trace_id, "032x"),
                "span_id": format(context.span_id, "016x"),
            }
    except Exception:
        _warn("could not start the attempt span")
        return OFF
    return Span(span)


def current_ids() -> tuple[str, str] | None:
    """The trace and span ids of the current span, as hex (for log lines), or None."""
    if not ENABLED:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def trace_id(meta: Any) -> str | None:
    """The trace id of a job's stored ``traceparent`` (``00-<trace id>-<span id>-<flags>``),
    read without OpenTelemetry: the admin shows it wherever the job was enqueued."""
    value = meta.get(TRACEPARENT) if isinstance(meta, dict) else None
    parts = value.split("-") if isinstance(value, str) else []
    if len(parts) < 4 or len(parts[1]) != 32 or not _is_hex(parts[1]) or set(parts[1]) == {"0"}:
        return None
    return parts[1].lower()


def flush() -> None:
    """Export the spans still buffered, for ``FLUSH_MILLIS`` at most (a worker process ends
    without ``atexit``). The SDK's own timeout does not bound an export that hangs (a
    collector that never answers), so the flush runs in a daemon thread, waited for so long."""
    if not ENABLED:
        return
    force_flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if force_flush is None:
        return
    thread = threading.Thread(target=_flush, args=(force_flush,), daemon=True)
    thread.start()
    thread.join(FLUSH_MILLIS / 1000)


def _flush(force_flush: Any) -> None:
    try:
        force_flush(FLUSH_MILLIS)
    except Exception:
        _warn("could not flush the spans")


def _common(queue: str) -> dict[str, Any]:
    return {"messaging.system": SYSTEM, "messaging.destination.name": queue}


_tracers: list[Any] = [None, None]  # [provider, its tracer]


def _tracer() -> Any:
    """Our tracer from the current global provider (installed after import, or replaced);
    None while no provider is installed (the API's proxy would only make no-op spans)."""
    provider = trace.get_tracer_provider()
    if provider is not _tracers[0]:
        tracer = None
        if not isinstance(provider, trace.ProxyTracerProvider):
            try:
                tracer = provider.get_tracer("django_jobs")
            except Exception:
                _warn("the tracer provider gives no tracer")
        _tracers[:] = [provider, tracer]
    return _tracers[1]


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


_warned: set[str] = set()


def _warn(what: str) -> None:
    """One warning per kind of failure and process, never an exception."""
    if what not in _warned:
        _warned.add(what)
        logger.warning("tracing: %s; the job goes on untraced", what, exc_info=True)
