"""Definitions the test suite enqueues and runs."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from django_jobs import Backoff, Cron, RecurringJob, job
from django_jobs.context import heartbeat
from tests.testapp.models import Note


@job
def add(a: int, b: int) -> int:
    return a + b


@job(name="send_email", queue="mail", priority=5)
def send_email(to: str, body: str = "") -> dict:
    return {"to": to, "sent": True}


@job(name="send_email", version=2, queue="mail")
def send_email_v2(to: str, body: str = "", cc: str | None = None) -> dict:
    return {"to": to, "cc": cc, "sent": True}


@job
async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@job(max_retries=2, retry_delay=None, dead_letter=True)
def always_fails(message: str = "boom") -> None:
    raise RuntimeError(message)


@job(max_retries=3, retry_delay=None, retry_on=(ConnectionError,))
def fails_with(kind: str) -> None:
    if kind == "connection":
        raise ConnectionError("network down")
    raise ValueError("bad value")


@job(max_retries=0)
def calls_exit() -> None:
    raise SystemExit(3)


@job(max_retries=0)
def returns_set() -> set:
    return {1, 2}


@job(timeout=0.2, max_retries=0)
def sleeps(seconds: float) -> str:
    import time

    time.sleep(seconds)
    return "woke"


@job(timeout=0.2, max_retries=0)
async def async_sleeps(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "woke"


@job(atomic=True, max_retries=1, retry_delay=None)
def write_note_then_fail(text: str, fail: bool) -> None:
    Note.objects.create(text=text)
    if fail:
        raise RuntimeError("after writing")


@job
def write_note(text: str) -> int:
    return Note.objects.create(text=text).pk


@job(heartbeat_timeout=timedelta(minutes=1))
def reports_progress() -> str:
    heartbeat(progress=0.5, meta={"step": "half"})
    return "done"


@job(backoff=Backoff.LINEAR, retry_delay=30, max_retries=5)
def slow_retry() -> None:
    raise RuntimeError("try later")


@job(cron=Cron("0 18 * * 1-5", timezone="Europe/Paris", misfire="once", max_failures=5))
def daily_digest() -> None:
    return None


@job(interval=timedelta(minutes=10))
def every_ten_minutes() -> None:
    return None


class PurgeSessions(RecurringJob):
    interval = 3600
    max_retries = 3
    timeout = 30

    def run(self) -> int:
        return 0


@job(max_retries=3, retry_delay=None)
def cancels_itself() -> str:
    from django_jobs.context import current_job
    from django_jobs.models import Job

    running = current_job.get()
    Job.objects.get(pk=running.pk).cancel()  # as the admin would, from elsewhere
    heartbeat()
    return "not reached"


@job
async def async_reports_progress() -> str:
    from django_jobs import aheartbeat

    await aheartbeat(progress=0.25, meta={"step": "quarter"})
    return "done"


@job(timeout=0.3, max_retries=0)
def swallows_timeout() -> str:
    import time

    from django_jobs.exceptions import JobTimeout

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:  # noqa: SIM105 (a badly behaved job, on purpose)
            time.sleep(0.05)
        except JobTimeout:
            pass  # a badly behaved job
    return "never"


@job(timeout=0.3, max_retries=0)
def stuck_in_c() -> str:
    import signal
    import time

    # Like C code that never returns to the interpreter: the soft timeout cannot be delivered.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
    time.sleep(30)
    return "never"


@job(on_shutdown="finish")
def long_finish(seconds: float = 1.5) -> str:
    import time

    heartbeat(progress=0.0)  # its code runs: tests wait for this before a SIGTERM
    time.sleep(seconds)
    return "finished"


@job(on_shutdown="requeue")
def long_requeue(seconds: float = 30) -> str:
    import time

    heartbeat(progress=0.0)  # its code runs: tests wait for this before a SIGTERM
    time.sleep(seconds)
    return "finished"


@job(on_shutdown="stop")
def long_stop(seconds: float = 30) -> str:
    import time

    heartbeat(progress=0.0)  # its code runs: tests wait for this before a SIGTERM
    time.sleep(seconds)
    return "finished"


@job(max_retries=0)
def record_run(tag: str) -> str:
    """Writes one Note per run, so tests can count executions (exactly once?)."""
    Note.objects.create(text=tag)
    return tag


@job(interval=1, max_retries=0)
def every_second() -> None:
    Note.objects.create(text="tick")


@job(max_retries=0)
def heartbeats_forever() -> str:
    import time

    for _ in range(1200):
        time.sleep(0.05)
        heartbeat()
    return "never cancelled"


@job(max_retries=0)
async def async_waits_forever() -> str:
    await asyncio.sleep(60)
    return "never cancelled"


@job(max_retries=0)
def ignores_cancel() -> str:
    import time

    time.sleep(60)
    return "never cancelled"


@job(heartbeat_timeout=1, max_retries=1, retry_delay=3600)
def goes_silent() -> str:
    import time

    heartbeat(progress=0.1)
    time.sleep(60)
    return "never"


@job(max_retries=10, retry_delay=None)
def chaos_step(tag: str, milliseconds: int) -> str:
    """A short job for the chaos test: works a little, then leaves one Note per execution."""
    import time

    time.sleep(milliseconds / 1000)
    Note.objects.create(text=tag)
    return tag


@job(max_retries=0)
def returns_nul() -> str:
    return "a\x00b"


@job(max_running=2, max_retries=0)
def capped_cluster(seconds: float = 0.2) -> None:
    import time

    time.sleep(seconds)


@job(max_concurrent=1, max_retries=0)
def capped_per_worker(seconds: float = 0.2) -> None:
    import time

    time.sleep(seconds)


@job(max_retries=0)
def nap(seconds: float = 0.2) -> None:
    import time

    time.sleep(seconds)


@job(max_retries=0)
def cancel_by_id(job_id: str) -> None:
    """Asks for another job's cancellation from inside a job, as an operator would."""
    from django_jobs.models import Job

    Job.objects.get(pk=job_id).cancel()


# The run modes: async and thread jobs sharing one worker process.
from tests.testapp import mode_jobs  # noqa: E402, F401

#: The file that ``nondurable_tick`` appends to: registered only when this is set (the
#: acceptance test of non-durable runs sets it for its worker processes).
NONDURABLE_LOG_ENV = "DJANGO_JOBS_TEST_NONDURABLE_LOG"

if os.environ.get(NONDURABLE_LOG_ENV):

    @job(interval=1, durable=False)
    def nondurable_tick() -> None:
        """One line per run: the tick it runs for and the process that ran it. A run takes
        1.5 s, so the next tick comes due while it runs: another process must take it."""
        import time

        from django_jobs.context import current_job

        tick = current_job.get().scheduled_for.isoformat()
        time.sleep(1.5)
        with open(os.environ[NONDURABLE_LOG_ENV], "a") as log:
            log.write(f"{tick} {os.getpid()}\n")


#: Set for the worker processes of the test of a non-durable run stopped hard.
NONDURABLE_STUCK_ENV = "DJANGO_JOBS_TEST_NONDURABLE_STUCK"

if os.environ.get(NONDURABLE_STUCK_ENV):

    @job(interval=3600, durable=False, timeout=0.3)
    def nondurable_stuck() -> None:
        """Ignores its soft timeout: its process must be stopped hard."""
        import time

        try:
            time.sleep(60)
        except Exception:
            time.sleep(60)
