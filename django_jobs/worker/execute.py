"""Run one claimed job as a chain of named steps.

resolve the definition → decode the arguments → run (sync or async, soft timeout) →
normalise the outcome → record the attempt and the next state (retry, fail, dead letter,
succeed) in one fenced transaction → send signals after commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import traceback as tb
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone

from django_jobs import signals, tracing
from django_jobs.conf import jobs_settings
from django_jobs.context import current_job, this_body
from django_jobs.exceptions import JobCancelled, JobInterrupted, JobResultError, JobTimeout
from django_jobs.logs import job_fields, log_event, logging_at
from django_jobs.models import Job, Outcome
from django_jobs.redaction import redact
from django_jobs.registry import Definition, registry
from django_jobs.worker import record
from django_jobs.worker.completions import Completions
from django_jobs.worker.result import Result


class Permanent(Exception):
    """A failure no retry can mend (unknown definition, corrupt stored arguments)."""


def execute(job: Job, worker_id: str, completions: Completions | None = None) -> Result:
    """Run a job that this process has claimed (``job.claim_token`` set) and record it.

    With ``completions``, a plain end (no lease, no schedule, no dead letter, not atomic) is
    handed to that batch, which writes it with others in one statement; any other end is
    recorded at once. The attempt is one consumer span (``django_jobs.tracing``), current
    throughout: the log lines of the attempt carry its ids.
    """
    with tracing.consumer(job) as span:
        result = _execute(job, worker_id, completions)
        span.ended(result.outcome, result.error, result.message)
    return result


def _execute(job: Job, worker_id: str, completions: Completions | None) -> Result:
    started = job.started_at or timezone.now()
    definition = begin(job, worker_id)
    if definition is not None and definition.atomic:
        return execute_atomic(job, definition, worker_id, started)
    hold_lease(job, definition)
    result = run_attempt(job, definition)
    result.started_at = started
    end(job, definition, result, worker_id, completions)
    return result


def begin(job: Job, worker_id: str) -> Definition | None:
    """Before the job's code: ``job.started`` and the signal; returns its definition."""
    if logging_at(logging.INFO):
        log_event("job.started", **job_fields(job), worker=worker_id)
    if signals.job_started.has_listeners(Job):
        signals.job_started.send_robust(Job, job=job)
    return registry.find(job.name, job.version)


def end(
    job: Job,
    definition: Definition | None,
    result: Result,
    worker_id: str,
    completions: Completions | None,
) -> None:
    """After the job's code: a plain end to the batch, every other one written now."""
    if completions is None or not completions.add(job, definition, result):
        record_until_written(job, definition, result, worker_id)


def hold_lease(job: Job, definition: Definition | None) -> None:
    """With ``heartbeat_timeout``, the job is stalled unless it calls ``heartbeat()`` in time."""
    if definition is None or not definition.heartbeat_timeout:
        return
    lease = timezone.now() + timedelta(seconds=definition.heartbeat_timeout)
    Job.objects.using(jobs_settings.DATABASE).filter(pk=job.pk, claim_token=job.claim_token).update(
        lease_expires_at=lease
    )


def record_until_written(
    job: Job, definition: Definition | None, result: Result, worker_id: str
) -> bool:
    """Record the outcome, waiting for the database when it is away (see ``until_written``)."""
    return record.until_written(
        lambda: record.finish(job, definition, result, worker_id), job_fields(job)
    )


def execute_atomic(job: Job, definition: Definition, worker_id: str, started: datetime) -> Result:
    """``atomic=True``: the body and the success record commit together, or neither does."""
    alias = jobs_settings.DATABASE
    try:
        with transaction.atomic(using=alias):
            result = run_attempt(job, definition)
            result.started_at = started
            if result.ok and record.finish(job, definition, result, worker_id):
                return result
            raise _RollBack
    except _RollBack:
        pass
    if result.ok:  # fenced out: our claim was taken away; nothing of ours stays
        return result
    record.finish(job, definition, result, worker_id)
    return result


class _RollBack(Exception):
    pass


class _Attempt:
    """The frame of one attempt's code: ``current_job`` and the ``Body`` set around it, and
    anything the code raises turned into the attempt's ``Result``."""

    def __init__(self, job: Job, definition: Definition | None) -> None:
        self.job, self.definition = job, definition
        self.result = Result(Outcome.SUCCEEDED)

    def __enter__(self) -> _Attempt:
        self.token = current_job.set(self.job)
        self.body = this_body()
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, traceback: Any) -> bool:
        self.body.stop()
        current_job.reset(self.token)
        if isinstance(
            exc, (Exception, SystemExit, KeyboardInterrupt)
        ):  # job code may raise anything
            self.result = failure(exc, self.definition)
            return True
        return False


def run_attempt(job: Job, definition: Definition | None) -> Result:
    """Resolve, decode and run; never raises for anything the job itself does."""
    with _Attempt(job, definition) as attempt:
        attempt.body.start()  # raises an interruption asked for before the body started
        if definition is None:
            raise Permanent(
                f"no worker process knows definition {job.name!r} version {job.version}"
            )
        args, kwargs = decode_arguments(job)
        attempt.result.value = call(definition, args, kwargs)
        check_result(definition, attempt.result.value)
    return attempt.result


async def run_attempt_async(job: Job, definition: Definition) -> Result:
    """``run_attempt`` for an async job on the worker process's event loop (run mode
    ``"async"``); never raises for anything the job itself does."""
    with _Attempt(job, definition) as attempt:
        attempt.body.start()
        args, kwargs = decode_arguments(job)
        attempt.result.value = await _run_async(definition, args, kwargs)
        check_result(definition, attempt.result.value)
    return attempt.result


def in_job_body() -> bool:
    """True while the job's own code runs (signal handlers may interrupt only then)."""
    return this_body().running


def decode_arguments(job: Job) -> tuple[list[Any], dict[str, Any]]:
    args, kwargs = job.args, job.kwargs
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise Permanent(
            f"stored arguments are corrupt: args must be a JSON list and kwargs a JSON object, "
            f"got {type(args).__name__} and {type(kwargs).__name__}"
        )
    return args, kwargs


def call(definition: Definition, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Call the function, async or sync, with the definition's soft timeout."""
    if definition.is_async:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the usual case: run the coroutine here, in this thread
            return asyncio.run(_run_async(definition, args, kwargs))
        return async_to_sync(_run_async)(definition, args, kwargs)
    with soft_timeout(definition.timeout):
        return definition.func(*args, **kwargs)


async def _run_async(definition: Definition, args: list[Any], kwargs: dict[str, Any]) -> Any:
    task = asyncio.ensure_future(definition.func(*args, **kwargs))
    body = this_body()
    body.task, body.loop = task, asyncio.get_running_loop()
    if body.cancel_requested:  # asked just before the task existed
        task.cancel()
    done, _ = await asyncio.wait({task}, timeout=definition.timeout)
    if task in done:
        if task.cancelled():
            if body.interrupt is not None:  # cancelled by a shutdown, not by a user
                raise body.interrupt
            raise JobCancelled(f"{definition.name} was cancelled")
        return task.result()
    task.cancel()
    await asyncio.wait({task})
    raise JobTimeout(f"{definition.name} exceeded its timeout of {definition.timeout:g} s")


@contextmanager
def soft_timeout(seconds: float | None) -> Iterator[None]:
    """Raise ``JobTimeout`` inside the running code after ``seconds`` (main thread only).

    A job that swallows it, or is stuck in C code, is stopped hard by the supervisor.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise JobTimeout(f"exceeded its timeout of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: Results that are always valid JSON: no encoding needed to know it.
_PLAIN_RESULTS = (type(None), bool, int)


def check_result(definition: Definition, value: Any) -> None:
    if type(value) in _PLAIN_RESULTS:
        return
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JobResultError(
            f"{definition.name} returned a value that cannot be stored as JSON ({exc})"
        ) from None
    if "\\u0000" in text:
        raise JobResultError(
            f"{definition.name} returned a value that cannot be stored as JSON (it contains "
            "a NUL character, \\x00)"
        )


def failure(exc: BaseException, definition: Definition | None) -> Result:
    """Normalise an exception: outcome word, retryable or not, a readable message."""
    timed_out = isinstance(exc, JobTimeout)
    cancelled = isinstance(exc, JobCancelled)
    retry_on: tuple[type[BaseException], ...] = definition.retry_on if definition else ()
    retryable = not isinstance(exc, (Permanent, JobCancelled)) and (
        timed_out or isinstance(exc, retry_on)
    )
    outcome = Outcome.TIMEOUT if timed_out else Outcome.CANCELLED if cancelled else Outcome.FAILED
    if isinstance(exc, JobInterrupted):
        return Result(Outcome.INTERRUPTED, error=exc, message=str(exc), final=not exc.requeue)
    if isinstance(exc, SystemExit):
        message = f"the job called exit({exc.code!r})"
    else:
        message = str(exc) or type(exc).__name__
    return Result(
        outcome,
        error=exc,
        error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
        message=redact(message),
        traceback=redact("".join(tb.format_exception(type(exc), exc, exc.__traceback__))),
        retryable=retryable,
    )
