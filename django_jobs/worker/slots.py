"""The slots of a worker process: async and thread jobs running at once beside its loop.

The loop (the process's main thread) claims, starts and records every job; a slot only runs
a job's own code: an ``"async"`` job as a task on the process's event loop (one thread that
runs asyncio), a ``"thread"`` job in the process's thread pool. Each job runs in a context
of its own (``contextvars``): its ``current_job``, its ``Body`` (what cancels and shutdowns
reach), its span. When a job's code ends, its slot hands the ``Result`` back and wakes the
loop through a pipe, which also carries the loop's signals.

What reaches a running job, by mode:

* soft timeout: an async job's task is cancelled (``JobTimeout``, in ``execute``); a thread
  job gets ``JobTimeout`` raised in its thread at its next Python instruction (``timeouts``);
* cancel: an async job's task is cancelled at once; a thread job learns it at its next
  ``heartbeat()``;
* a shutdown whose ``on_shutdown`` is ``requeue`` or ``stop``: ``JobInterrupted`` the same way.

What none of them can stop (a thread in C code, an async job that never awaits) is stopped
hard by the supervisor, which replaces the whole process (``worker.watchdog``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import ctypes
import logging
import os
import select
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connections

from django_jobs.context import Body, request_cancel, use_body
from django_jobs.exceptions import JobCancelled, JobInterrupted, JobTimeout
from django_jobs.logs import job_fields, log_event
from django_jobs.worker.execute import execute_atomic, failure, run_attempt, run_attempt_async

if TYPE_CHECKING:
    from django_jobs.models import Job
    from django_jobs.registry import Definition
    from django_jobs.worker.result import Result

ASYNC, THREAD, PROCESS = "async", "thread", "process"

#: Seconds the event loop may go without turning before a WARNING names the job holding it.
BLOCKED_AFTER = 1.0


def run_mode(definition: Definition | None) -> str:
    """How a job of ``definition`` runs: ``"async"``, ``"thread"`` or ``"process"`` (also for
    an unknown definition: it fails, or is deferred, in the loop itself)."""
    if definition is None:
        return PROCESS
    return definition.effective_run_mode


class SoftTimeout(JobTimeout):
    """Raised in a thread job's thread when its timeout is up (raised by class: no args)."""

    def __init__(self) -> None:
        super().__init__("exceeded its timeout")


class ShutdownRequeue(JobInterrupted):
    def __init__(self) -> None:
        super().__init__("the worker is shutting down", requeue=True)


class ShutdownStop(JobInterrupted):
    def __init__(self) -> None:
        super().__init__("the worker is shutting down", requeue=False)


@dataclass(eq=False)
class Running:
    """One async or thread job of this process, from its start until it is recorded."""

    job: Job
    definition: Definition
    mode: str
    place: int  # its place in the process's slot (``worker.protocol``)
    context: contextvars.Context
    body: Body = field(default_factory=Body)
    soft_deadline: float = 0.0  # monotonic; thread jobs get JobTimeout then (0: none)
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    span: Any = None
    task: Any = None  # async: the task on the event loop
    thread: int | None = None  # thread: the id of the thread that runs it
    lock: threading.Lock = field(default_factory=threading.Lock)
    ended: bool = False  # thread: its code is over, nothing may be raised in it any more
    timed_out: bool = False
    interrupted: bool = False
    result: Result | None = None
    recorded: bool = False  # atomic: recorded in its thread, in the body's transaction


class Slots:
    """The async and thread jobs of one worker process (at most ``size`` at once)."""

    def __init__(self, size: int, worker_id: str) -> None:
        self.size, self.worker_id = size, worker_id
        self.running: dict[uuid.UUID, Running] = {}
        self.places = list(range(size))
        self.done: deque[Running] = deque()
        self.pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_seen = 0.0  # when the event loop last turned (monotonic)
        self.ping_pending = False
        self.blocked_warned: uuid.UUID | None = None
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    @property
    def busy(self) -> bool:
        return bool(self.running)

    @property
    def free(self) -> int:
        return self.size - len(self.running)

    # --- starting and ending ----------------------------------------------------------------

    def start(
        self,
        job: Job,
        definition: Definition,
        mode: str,
        begin: Callable[[Running], None],
    ) -> Running:
        """Run ``job`` in a slot; ``begin(running)`` is called first, in the job's context."""
        running = Running(job, definition, mode, self.places.pop(0), contextvars.copy_context())
        running.context.run(use_body, running.body)
        self.running[job.pk] = running
        running.context.run(begin, running)
        timeout = definition.timeout
        if mode == THREAD:
            if timeout:
                running.soft_deadline = time.monotonic() + timeout
            future = self._pool().submit(running.context.run, self._thread_body, running)
            future.add_done_callback(lambda _: self._ended(running))
        else:
            loop = self._loop()
            loop.call_soon_threadsafe(self._start_task, running)
        return running

    def release(self, running: Running) -> None:
        """``running`` (the first of ``done``) is recorded: out of the slots, its place free."""
        self.done.remove(running)
        del self.running[running.job.pk]
        self.places.append(running.place)
        self.places.sort()

    def _ended(self, running: Running) -> None:
        """A slot's thread: the job's code is over (``running.result`` is set)."""
        self.done.append(running)
        self.wake()

    def _thread_body(self, running: Running) -> None:
        """A pool thread, in the job's context: its code, then its connection closed."""
        running.thread = threading.get_ident()
        result = None
        job, definition = running.job, running.definition
        try:
            if definition.atomic:  # the body and its record share the thread's transaction
                result = execute_atomic(job, definition, self.worker_id, job.started_at)
                running.recorded = True
            else:
                result = run_attempt(job, definition)
        except BaseException as exc:  # an interruption delivered as its code ended
            result = failure(exc, running.definition)
        finally:
            running.result = result
            _close_fenced(running)
            connections.close_all()  # the connection its code opened, if any

    def _start_task(self, running: Running) -> None:
        """The event loop's thread: the job as a task, in its context."""
        assert self.loop is not None
        coroutine = run_attempt_async(running.job, running.definition)
        task = self.loop.create_task(coroutine, context=running.context)
        running.task = task

        def done(task: asyncio.Task[Result]) -> None:
            if task.cancelled():
                running.result = failure(asyncio.CancelledError(), running.definition)
            elif task.exception() is not None:
                running.result = failure(task.exception(), running.definition)  # type: ignore[arg-type]
            else:
                running.result = task.result()
            self._ended(running)

        task.add_done_callback(done)

    # --- what reaches a running job ---------------------------------------------------------

    def cancel(self, running: Running) -> None:
        """Asked to cancel: an async job's task is cancelled, a thread job learns it at its
        next ``heartbeat()``; one whose code has not started never starts."""
        if not running.body.running and running.result is None:
            running.body.pending = JobCancelled(f"job {running.job.pk} was cancelled")
            return
        request_cancel(running.body)

    def interrupt(self, running: Running, requeue: bool) -> None:
        """The worker shuts down and the job's ``on_shutdown`` is ``requeue`` or ``stop``."""
        if running.interrupted:
            return
        running.interrupted = True
        kind = ShutdownRequeue if requeue else ShutdownStop
        if running.mode == THREAD:
            _raise_in_thread(running, kind)
            return
        body = running.body
        if body.running and body.task is not None and body.loop is not None:
            body.interrupt = kind()
            body.loop.call_soon_threadsafe(body.task.cancel)
        else:  # its code has not started: it never does (the interruption is raised first)
            body.pending = kind()

    def deliver_timeouts(self, now: float) -> None:
        """Thread jobs past their timeout get ``JobTimeout`` raised in their thread."""
        for running in self.running.values():
            if running.soft_deadline and now >= running.soft_deadline and not running.timed_out:
                running.timed_out = True
                _raise_in_thread(running, SoftTimeout)

    def next_timeout(self) -> float:
        """When the next thread job's timeout is up (monotonic; 0: none)."""
        deadlines = [
            r.soft_deadline for r in self.running.values() if r.soft_deadline and not r.timed_out
        ]
        return min(deadlines, default=0.0)

    # --- the event loop's health ------------------------------------------------------------

    def watch_loop(self, now: float) -> None:
        """Warn when the event loop has not turned for ``BLOCKED_AFTER`` seconds: an async job
        holds it (``time.sleep``, CPU work), and every other async job of the process waits,
        heartbeats included. The line names the job; once per job that blocks it."""
        if self.loop is None or not any(r.mode == ASYNC for r in self.running.values()):
            return
        if self.ping_pending and now - self.loop_seen > BLOCKED_AFTER:
            holder = self._holding_loop()
            if holder is not None and holder.job.pk != self.blocked_warned:
                self.blocked_warned = holder.job.pk
                log_event(
                    "worker.event_loop_blocked",
                    logging.WARNING,
                    **job_fields(holder.job),
                    worker=self.worker_id,
                    blocked_for=round(now - self.loop_seen, 1),
                )
            return
        if not self.ping_pending:
            self.ping_pending = True
            self.loop.call_soon_threadsafe(self._pong)

    def _pong(self) -> None:
        self.loop_seen, self.ping_pending = time.monotonic(), False

    def _holding_loop(self) -> Running | None:
        """The async job whose code runs on the event loop now."""
        assert self.loop is not None
        task = asyncio.current_task(self.loop)
        for running in self.running.values():
            if task is not None and task in (running.task, running.body.task):
                return running
        return None

    # --- the pipe ---------------------------------------------------------------------------

    def wake(self) -> None:
        """Wake the loop from ``wait`` (any thread, or a signal handler)."""
        with contextlib.suppress(BlockingIOError):
            os.write(self.wake_w, b"x")

    def wait(self, seconds: float) -> None:
        """Sleep until a job's code ends, a signal comes, or ``seconds`` pass."""
        with contextlib.suppress(InterruptedError):
            select.select([self.wake_r], [], [], max(0.0, seconds))
        with contextlib.suppress(BlockingIOError):
            while os.read(self.wake_r, 4096):
                pass

    # --- the machinery ----------------------------------------------------------------------

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self.pool is None:
            self.pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.size, thread_name_prefix="django_jobs-slot"
            )
        return self.pool

    def _loop(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            loop = asyncio.new_event_loop()
            self.loop, self.loop_seen = loop, time.monotonic()
            thread = threading.Thread(
                target=_run_forever, args=(loop,), name="django_jobs-event-loop", daemon=True
            )
            thread.start()
        return self.loop

    def close(self) -> None:
        """The process ends: no job runs in a slot any more (the loop waited for them)."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
        for fd in (self.wake_r, self.wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def _raise_in_thread(running: Running, kind: type[BaseException]) -> None:
    """Raise ``kind`` in the thread of a thread job, unless its code is over."""
    with running.lock:
        if running.ended or running.thread is None or not running.body.running:
            if not running.body.running and not running.ended:
                running.body.pending = kind()  # its code has not started yet
            return
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(running.thread), ctypes.py_object(kind)
        )


def _close_fenced(running: Running) -> None:
    """A thread job's code is over: nothing is raised in its thread from now on (one that was
    on its way is taken back)."""
    while True:
        try:
            with running.lock:
                running.ended = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(running.thread), None)
            return
        except BaseException:  # delivered just now: the job's code is over, it is dropped
            continue
