"""The raw-SQL baseline: the same work as django_jobs, hand-written with psycopg alone.

Nothing here imports Django. The loops work on the table that ``manage.py migrate`` made
(``django_jobs_job``) and write rows of the same shape as a django_jobs enqueue of
``bench.noop``, so each django_jobs figure can be read as a ratio to what the database and
the driver can do on this machine in the same run. The baselines are deliberately lean:

* enqueue: one statement per job, the INSERT and its ``pg_notify`` in one round trip;
* bulk enqueue: one ``INSERT ... SELECT FROM unnest(arrays)`` plus ``pg_notify`` per batch;
* claim: a CTE picking the queue's ready rows in claim order from the partial index
  ``dj_job_claim`` with ``FOR UPDATE SKIP LOCKED``, then one UPDATE (the shape of
  ``django_jobs/db/postgresql/claim.py`` without its queue and definition limits), returning only
  the columns the loop needs;
* completion: one UPDATE per claimed batch (no attempt row, no signals, no logging).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg

TABLE = "django_jobs_job"
CHANNEL = "django_jobs"  # DJANGO_JOBS_NOTIFY_CHANNEL's default
NAME, QUEUE, MAX_ATTEMPTS = "bench.noop", "default", 4  # what @job(name="bench.noop") gives
RESULT_TTL = timedelta(days=7)  # DJANGO_JOBS_DEFAULT_RESULT_TTL's default

INSERT_ONE = f"""
WITH j AS (
    INSERT INTO {TABLE} (id, name, version, queue, state, priority, args, kwargs, meta,
                         run_at, created_at, attempts, max_attempts, last_error)
    VALUES (%(id)s, %(name)s, 1, %(queue)s, 'queued', 0, %(args)s::jsonb, %(kwargs)s::jsonb,
            '{{}}'::jsonb, %(now)s, %(now)s, 0, {MAX_ATTEMPTS}, '')
)
SELECT pg_notify(%(channel)s, %(queue)s)
"""

INSERT_MANY = f"""
WITH j AS (
    INSERT INTO {TABLE} (id, name, version, queue, state, priority, args, kwargs, meta,
                         run_at, created_at, attempts, max_attempts, last_error)
    SELECT t.id, %(name)s, 1, %(queue)s, 'queued', 0, t.args::jsonb, t.kwargs::jsonb,
           '{{}}'::jsonb, %(now)s, %(now)s, 0, {MAX_ATTEMPTS}, ''
    FROM unnest(%(ids)s::uuid[], %(args)s::text[], %(kwargs)s::text[]) AS t(id, args, kwargs)
)
SELECT pg_notify(%(channel)s, %(queue)s)
"""

CLAIM = f"""
WITH candidates AS (
    SELECT id FROM {TABLE}
    WHERE state = 'queued' AND queue = %(queue)s
    ORDER BY priority DESC, run_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {TABLE} AS j
SET state = 'running', worker = %(worker)s, claim_token = gen_random_uuid(),
    started_at = %(now)s, heartbeat_at = %(now)s, attempts = j.attempts + 1
FROM candidates
WHERE j.id = candidates.id
RETURNING j.id, j.claim_token, j.args, j.kwargs
"""

COMPLETE = f"""
UPDATE {TABLE} AS j
SET state = 'succeeded', finished_at = %(now)s, expires_at = %(expires)s, result = NULL,
    last_error = '', claim_token = NULL
FROM unnest(%(ids)s::uuid[], %(tokens)s::uuid[]) AS done(id, token)
WHERE j.id = done.id AND j.claim_token = done.token AND j.state = 'running'
"""


def uuid7() -> uuid.UUID:
    """A time-ordered UUID laid out as django_jobs' job ids (48-bit milliseconds first)."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return uuid.UUID(int=value)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def noop() -> None:
    """The baseline's job body: nothing, like ``bench.noop``."""


# --- enqueue ----------------------------------------------------------------------------------


def _one_params() -> dict[str, Any]:
    return {
        "id": uuid7(),
        "name": NAME,
        "queue": QUEUE,
        "args": json.dumps([]),
        "kwargs": json.dumps({}),
        "now": utcnow(),
        "channel": CHANNEL,
    }


def enqueue_one(url: str, jobs: int) -> dict[str, float]:
    """``jobs`` enqueues of one job each (INSERT + NOTIFY in one statement); jobs/s."""
    with connect(url) as conn:
        conn.execute(INSERT_ONE, _one_params())  # warm-up: connection, plan, first page
        started = time.perf_counter()
        for _ in range(jobs):
            conn.execute(INSERT_ONE, _one_params())
        seconds = time.perf_counter() - started
    return {"jobs": jobs, "seconds": seconds, "rate": jobs / seconds}


def _many_params(count: int) -> dict[str, Any]:
    return {
        "ids": [uuid7() for _ in range(count)],
        "args": [json.dumps([]) for _ in range(count)],
        "kwargs": [json.dumps({}) for _ in range(count)],
        "name": NAME,
        "queue": QUEUE,
        "now": utcnow(),
        "channel": CHANNEL,
    }


def enqueue_many(url: str, jobs: int, batch: int) -> dict[str, float]:
    """``jobs`` jobs in batches of ``batch``: one unnest INSERT + NOTIFY per batch; jobs/s."""
    with connect(url) as conn:
        conn.execute(INSERT_MANY, _many_params(1))  # warm-up
        started = time.perf_counter()
        for first in range(0, jobs, batch):
            conn.execute(INSERT_MANY, _many_params(min(batch, jobs - first)))
        seconds = time.perf_counter() - started
    return {"jobs": jobs, "batch": batch, "seconds": seconds, "rate": jobs / seconds}


# --- claiming and completing ------------------------------------------------------------------


def claim(conn: psycopg.Connection[Any], limit: int, worker: str) -> list[tuple[Any, ...]]:
    """One claim statement (its own transaction, autocommit)."""
    params = {"limit": limit, "worker": worker, "now": utcnow(), "queue": QUEUE}
    return conn.execute(CLAIM, params).fetchall()


def complete(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> None:
    """Mark claimed rows succeeded, fenced by their claim tokens: one UPDATE for the batch."""
    now = utcnow()
    conn.execute(
        COMPLETE,
        {
            "now": now,
            "expires": now + RESULT_TTL,
            "ids": [row[0] for row in rows],
            "tokens": [row[1] for row in rows],
        },
    )


def run_rows(rows: list[tuple[Any, ...]], body: Callable[..., Any] = noop) -> None:
    """Run each claimed row's body with its stored arguments."""
    for _, _, args, kwargs in rows:
        body(*args, **kwargs)


def drain_process(url: str, batch: int, worker: str) -> int:
    """Claim ``batch`` at a time, run, complete, until nothing is queued; jobs run."""
    done = 0
    with connect(url) as conn:
        while rows := claim(conn, batch, worker):
            run_rows(rows)
            complete(conn, rows)
            done += len(rows)
    return done


def _drain_target(url: str, batch: int, worker: str, counts: Any, index: int) -> None:
    counts[index] = drain_process(url, batch, worker)


def drain(url: str, processes: int, batch: int) -> dict[str, float]:
    """Drain the queued jobs with ``processes`` processes claiming ``batch`` per statement.

    The rate is measured from the rows (first ``started_at`` to last ``finished_at``), as
    for django_jobs; every job must have succeeded at its first attempt.
    """
    context = multiprocessing.get_context("fork")
    counts = context.Array("i", processes)
    started = time.perf_counter()
    workers = [
        context.Process(target=_drain_target, args=(url, batch, f"raw/{i}", counts, i))
        for i in range(processes)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
    wall = time.perf_counter() - started
    if any(p.exitcode != 0 for p in workers):
        raise RuntimeError(f"a raw drain process failed: {[p.exitcode for p in workers]}")
    return {**drain_summary(url), "wall_seconds": wall, "per_process": list(counts)}


def drain_summary(url: str) -> dict[str, Any]:
    """Counts and the rows' time span after a drain; raises when a job did not run once."""
    with connect(url) as conn:
        total, ok, span = conn.execute(
            f"SELECT count(*), count(*) FILTER (WHERE state = 'succeeded' AND attempts = 1), "
            f"extract(epoch FROM max(finished_at) - min(started_at)) FROM {TABLE}"
        ).fetchone()
    if total == 0 or ok != total:
        raise RuntimeError(f"raw drain: {ok} of {total} jobs succeeded exactly once")
    seconds = float(span)
    return {"jobs": total, "seconds": seconds, "rate": total / seconds}


# --- pickup latency ---------------------------------------------------------------------------


def listen_worker(url: str, idle: float, ready: Any) -> None:
    """An idle raw worker: LISTEN, and on each wake-up (or ``idle`` s) claim one at a time."""
    with connect(url) as listener, connect(url) as conn:
        listener.execute(f"LISTEN {CHANNEL}")
        ready.set()
        while True:
            while rows := claim(conn, 1, "raw/latency"):
                run_rows(rows)
                complete(conn, rows)
            for _ in listener.notifies(timeout=idle, stop_after=1):
                pass


def latency(url: str, jobs: int, rate: float, idle: float = 1.0) -> dict[str, Any]:
    """Enqueue ``jobs`` (raw INSERT + NOTIFY) at ``rate`` per second into an idle raw worker.

    Latency per job is ``started_at - created_at`` as for django_jobs: the enqueuer's clock
    before the INSERT to the worker's clock before the claim statement.
    """
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    worker = context.Process(target=listen_worker, args=(url, idle, ready), daemon=True)
    worker.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the raw latency worker did not start")
        with connect(url) as conn:
            paced_enqueue(conn, 3, rate)  # warm-up, not counted
            wait_until_done(conn, 3)
            conn.execute(f"DELETE FROM {TABLE}")
            time.sleep(0.5)
            paced_enqueue(conn, jobs, rate)
            wait_until_done(conn, jobs)
            rows = conn.execute(
                f"SELECT extract(epoch FROM started_at - created_at) FROM {TABLE}"
            ).fetchall()
    finally:
        worker.terminate()
        worker.join()
    return latency_summary([float(r[0]) for r in rows])


def paced_enqueue(conn: psycopg.Connection[Any], jobs: int, rate: float) -> None:
    """Enqueue one job every ``1 / rate`` seconds (on a fixed schedule, not drifting)."""
    first = time.perf_counter()
    for index in range(jobs):
        pause = first + index / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        conn.execute(INSERT_ONE, _one_params())


def wait_until_done(conn: psycopg.Connection[Any], jobs: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE state = 'succeeded'").fetchone()
        if done[0] >= jobs:
            return
        time.sleep(0.05)
    raise RuntimeError(f"raw latency: fewer than {jobs} jobs finished within {timeout} s")


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0..1) percentile, nearest-rank on the sorted values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


def latency_summary(seconds: list[float]) -> dict[str, Any]:
    """p50 / p95 / p99 / max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "samples": len(ms),
        "p50_ms": percentile(ms, 0.50),
        "p95_ms": percentile(ms, 0.95),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": max(ms),
        "mean_ms": statistics.fmean(ms),
    }


# --- claim time -------------------------------------------------------------------------------


def claim_times(conn: psycopg.Connection[Any], claims: int, limit: int) -> list[float]:
    """Seconds taken by each of ``claims`` claim statements of ``limit`` rows."""
    times = []
    for _ in range(claims):
        started = time.perf_counter()
        rows = claim(conn, limit, "raw/claim")
        times.append(time.perf_counter() - started)
        if len(rows) != limit:
            raise RuntimeError(f"raw claim got {len(rows)} rows, wanted {limit}")
    return times


def explain_claim(conn: psycopg.Connection[Any], limit: int) -> str:
    """``EXPLAIN ANALYZE`` of one claim statement, rolled back (the rows stay queued)."""
    params = {"limit": limit, "worker": "raw/explain", "now": utcnow(), "queue": QUEUE}
    with conn.transaction(force_rollback=True):
        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + CLAIM, params).fetchall()
    return "\n".join(row[0] for row in rows)


def commit_latency(url: str, commits: int = 200) -> float:
    """Median milliseconds of a one-row INSERT in autocommit (a WAL flush at each commit):
    the floor under every figure that commits per job on this machine. ``url`` names a
    scratch database: a table is made in it."""
    times = []
    with connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS commit_probe (n int)")
        for number in range(commits):
            started = time.perf_counter()
            conn.execute("INSERT INTO commit_probe VALUES (%s)", [number])
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000
