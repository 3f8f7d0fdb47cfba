"""The loop's side of its slots: start an async or thread job, record the ones whose code
ended, and deliver what must reach a running one (a timeout, a cancel, a shutdown).

Everything here runs in the loop's thread; each job's start and end run in that job's own
context (``worker.slots``), so its span is current for its log lines from start to end.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.utils import timezone

from django_jobs import tracing
from django_jobs.conf import jobs_settings
from django_jobs.models import Job, Outcome
from django_jobs.worker import execute
from django_jobs.worker.slots import ASYNC, BLOCKED_AFTER, Running

if TYPE_CHECKING:
    from django_jobs.registry import Definition
    from django_jobs.worker.loop import WorkerLoop

#: Seconds between looks for new work while some slots are busy and others free (a job's
#: end, or a claim that filled every slot, looks at once).
BUSY_POLL = 0.1


def start(loop: WorkerLoop, job: Job, definition: Definition, mode: str) -> Running:
    """Start ``job`` in a free slot of ``loop``."""
    return loop.slots.start(job, definition, mode, lambda running: _begin(loop, running))


def _begin(loop: WorkerLoop, running: Running) -> None:
    """In the job's context: its span, its place in the supervisor's view, ``job.started``."""
    job, definition = running.job, running.definition
    running.span = running.stack.enter_context(tracing.consumer(job))
    timeout = definition.timeout
    deadline = time.time() + timeout + jobs_settings.TIMEOUT_GRACE if timeout else 0
    loop.slot.job_started(job.pk, deadline, running.place)
    execute.begin(job, loop.worker_id)
    if not definition.atomic:
        execute.hold_lease(job, definition)


def tend(loop: WorkerLoop) -> int:
    """One look at the slots: deliver timeouts, cancels and a shutdown; record the jobs whose
    code ended (plain ends go to the loop's batch). Returns how many were recorded."""
    slots, now = loop.slots, time.monotonic()
    slots.deliver_timeouts(now)
    slots.watch_loop(now)
    if loop.cancel_check:
        loop.cancel_check = False
        _deliver_cancels(loop)
    if loop.term_received:
        _deliver_shutdown(loop)
    ended = 0
    while slots.done:  # one at a time: a write that fails leaves the rest for the next turn
        running = slots.done[0]
        running.context.run(_end, loop, running)
        slots.release(running)
        ended += 1
    return ended


def _end(loop: WorkerLoop, running: Running) -> None:
    """In the job's context: record its outcome, end its span, free its place."""
    job, definition = running.job, running.definition
    result = running.result
    if result is None:  # never: a slot always hands a result back
        result = execute.failure(RuntimeError("the job's slot ended without a result"), definition)
    result.started_at = job.started_at or timezone.now()
    if running.timed_out and result.outcome == Outcome.TIMEOUT:
        result.message = f"exceeded its timeout of {definition.timeout:g} s"
        result.error_type = "django_jobs.exceptions.JobTimeout"
    try:
        if not running.recorded:
            execute.end(job, definition, result, loop.worker_id, loop.completions)
        running.span.ended(result.outcome, result.error, result.message)
    finally:
        running.stack.close()
    loop.slot.job_ended(running.place)
    loop.processed += 1
    loop.slot.job_counted(loop.processed, result.ok)


def _deliver_cancels(loop: WorkerLoop) -> None:
    """``CANCEL_SIGNAL`` came: tell each slot job asked to cancel."""
    running = loop.slots.running
    asked = Job.objects.using(loop.alias).filter(
        pk__in=list(running), cancel_requested_at__isnull=False
    )
    for pk in asked.values_list("pk", flat=True):
        if pk in running:
            loop.slots.cancel(running[pk])


def _deliver_shutdown(loop: WorkerLoop) -> None:
    """SIGTERM came: each slot job follows its ``on_shutdown`` (``finish``: it runs on)."""
    for running in list(loop.slots.running.values()):
        policy = running.definition.on_shutdown
        if policy in ("requeue", "stop"):
            loop.slots.interrupt(running, requeue=policy == "requeue")


def wait_seconds(loop: WorkerLoop) -> float:
    """How long the loop may wait while its slots are busy: until new work may be claimed,
    the next thread job's timeout, or the next look at the event loop."""
    slots, now = loop.slots, time.monotonic()
    seconds = loop.options.idle_interval
    if slots.free and not (loop.stopping or loop.claimed or loop.alone_waiting):
        seconds = min(seconds, BUSY_POLL)
    if any(running.mode == ASYNC for running in slots.running.values()):
        seconds = min(seconds, BLOCKED_AFTER / 2)
    upcoming = slots.next_timeout()
    if upcoming:
        seconds = min(seconds, upcoming - now)
    return max(seconds, 0.0)
