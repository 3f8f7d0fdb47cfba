"""Job definitions the benchmark enqueues and runs.

``noop`` does nothing: a drain of no-op jobs measures only the queue's own cost.
``stamp`` returns the wall-clock time at which its body ran, so a latency run can also tell
how long it took from the enqueue to the job's own code (the pickup figure itself is
``started_at - created_at``, written by django_jobs).

The run-mode jobs wait ``seconds`` each, ``await asyncio.sleep`` (``bench.await_*``) or
``time.sleep`` (``bench.sleep_*``), and return ``[pid, body start, body end]`` (wall clock),
so that a drain can tell how many bodies ran at once and in how many processes. The
``run_mode="async"`` and ``"thread"`` ones exist only where ``@job`` has the option
(``RUN_MODES``); the process-mode ones always do, with ``run_mode="process"`` where it exists
(without it, every job runs alone in its worker process).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time

from django_jobs import job
from django_jobs.registry import Definition

#: Whether this django_jobs has run modes (``@job(run_mode=...)``, ``runjobs --slots``).
RUN_MODES = "run_mode" in {f.name for f in dataclasses.fields(Definition)}
PROCESS = {"run_mode": "process"} if RUN_MODES else {}


@job(name="bench.noop")
def noop() -> None:
    """Do nothing."""


@job(name="bench.stamp")
def stamp() -> float:
    """Return ``time.time()`` as seen by the job body."""
    return time.time()


@job(name="bench.await_process", **PROCESS)
async def await_process(seconds: float) -> list[float]:
    """``await asyncio.sleep(seconds)``, alone in its worker process."""
    begun = time.time()
    await asyncio.sleep(seconds)
    return [os.getpid(), begun, time.time()]


@job(name="bench.sleep_process", **PROCESS)
def sleep_process(seconds: float) -> list[float]:
    """``time.sleep(seconds)``, alone in its worker process."""
    begun = time.time()
    time.sleep(seconds)
    return [os.getpid(), begun, time.time()]


if RUN_MODES:

    @job(name="bench.await_async", run_mode="async")
    async def await_async(seconds: float) -> list[float]:
        """``await asyncio.sleep(seconds)`` on the worker process's event loop."""
        begun = time.time()
        await asyncio.sleep(seconds)
        return [os.getpid(), begun, time.time()]

    @job(name="bench.sleep_thread", run_mode="thread")
    def sleep_thread(seconds: float) -> list[float]:
        """``time.sleep(seconds)`` in a thread of the worker process's pool."""
        begun = time.time()
        time.sleep(seconds)
        return [os.getpid(), begun, time.time()]
