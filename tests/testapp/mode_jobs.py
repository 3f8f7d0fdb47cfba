"""Definitions for the run modes: async and thread jobs that share one worker process."""

from __future__ import annotations

import asyncio
import time

from django_jobs import job
from django_jobs.context import aheartbeat, heartbeat
from tests.testapp.models import Note


def span(began: float) -> dict[str, float]:
    """What a job returns: when its code ran (the tests compare them across jobs)."""
    return {"start": began, "end": time.time()}


@job(max_retries=3, retry_delay=None)
async def async_nap(seconds: float = 1.0) -> dict[str, float]:
    began = time.time()
    await asyncio.sleep(seconds)
    return span(began)


@job(run_mode="thread", max_retries=3, retry_delay=None)
def thread_nap(seconds: float = 1.0) -> dict[str, float]:
    began = time.time()
    time.sleep(seconds)
    return span(began)


@job(run_mode="thread", max_retries=0)
def thread_writes_note(text: str) -> int:
    """A thread job that uses the ORM (on a connection of its own thread)."""
    return Note.objects.create(text=text).pk


@job(run_mode="thread", atomic=True, max_retries=0)
def thread_atomic_note(text: str, fail: bool) -> None:
    Note.objects.create(text=text)
    if fail:
        raise RuntimeError("rolled back")


@job(run_mode="thread", timeout=0.3, max_retries=0)
def thread_times_out() -> str:
    for _ in range(600):  # Python code between short sleeps: JobTimeout gets in
        time.sleep(0.05)
    return "never timed out"


@job(run_mode="thread", timeout=0.3, max_retries=0)
def thread_stuck() -> str:
    time.sleep(60)  # one call that JobTimeout cannot interrupt: a hard stop
    return "never stopped"


@job(timeout=0.3, max_retries=0)
async def async_ignores_timeout() -> str:
    """Swallows the cancellation of its timeout and keeps the event loop: a hard stop."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        time.sleep(60)
    return "never stopped"


@job(timeout=0.3, max_retries=0)
async def async_times_out() -> str:
    await asyncio.sleep(60)
    return "never timed out"


@job(run_mode="thread", max_retries=0)
def thread_heartbeats_forever() -> str:
    for _ in range(1200):
        time.sleep(0.05)
        heartbeat()
    return "never cancelled"


@job(max_retries=0)
async def async_heartbeats() -> str:
    for step in range(5):
        await aheartbeat(progress=step / 5)
        await asyncio.sleep(0.05)
    return "done"


@job(on_shutdown="requeue", max_retries=0)
async def async_long_requeue(seconds: float = 30) -> str:
    await aheartbeat(progress=0.0)
    await asyncio.sleep(seconds)
    return "finished"


@job(on_shutdown="stop", max_retries=0)
async def async_long_stop(seconds: float = 30) -> str:
    await aheartbeat(progress=0.0)
    await asyncio.sleep(seconds)
    return "finished"


@job(on_shutdown="finish", max_retries=0)
async def async_long_finish(seconds: float = 1.5) -> str:
    await aheartbeat(progress=0.0)
    await asyncio.sleep(seconds)
    return "finished"


@job(run_mode="thread", on_shutdown="requeue", max_retries=0)
def thread_long_requeue(seconds: float = 30) -> str:
    heartbeat(progress=0.0)
    for _ in range(int(seconds / 0.05)):
        time.sleep(0.05)
    return "finished"


@job(run_mode="thread", on_shutdown="finish", max_retries=0)
def thread_long_finish(seconds: float = 1.5) -> str:
    heartbeat(progress=0.0)
    time.sleep(seconds)
    return "finished"


@job(max_retries=0)
async def async_blocks_loop(seconds: float = 2.5) -> str:
    time.sleep(seconds)  # wrong in async code: the event loop stops for everyone
    return "blocked"


@job(heartbeat_timeout=1, max_retries=0)
async def async_goes_silent() -> str:
    await aheartbeat(progress=0.1)
    await asyncio.sleep(60)
    return "never stalled"


@job(max_concurrent=2, max_retries=0)
async def async_capped(seconds: float = 0.5) -> dict[str, float]:
    """At most two at once per worker, whatever its slots."""
    began = time.time()
    await asyncio.sleep(seconds)
    return span(began)
