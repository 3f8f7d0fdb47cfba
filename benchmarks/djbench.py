"""The django_jobs side of the benchmark, one measurement per process.

``python -m benchmarks.djbench COMMAND [options]`` with ``DJANGO_SETTINGS_MODULE=
benchmarks.settings`` and the ``BENCH_DB_*`` variables naming a freshly migrated database.
It prints one JSON object on its last line of output. ``benchmarks/run.py`` starts it; it is
not meant to be run by hand (but can be, to look at one figure).

Commands:

* ``enqueue-one --jobs N``: N calls of ``noop.enqueue()``;
* ``enqueue-many --jobs N --batch B``: N jobs through ``noop.enqueue_many`` B at a time;
* ``drain --jobs N --concurrency K``: enqueue N no-op jobs, then time
  ``manage.py runjobs --burst --concurrency K --no-recurring`` and check that each job ran
  exactly once;
* ``run-mode --job NAME --jobs N --processes K --slots S --sleep SECONDS``: enqueue N jobs
  of one of the run-mode jobs (each waits SECONDS), then time ``runjobs --burst --concurrency K
  --slots S --no-recurring`` (``--slots`` only where run modes exist), check that each job ran
  exactly once, and count how many bodies ran at once; ``{"skipped": ...}`` for the async and
  thread jobs where there are no run modes;
* ``latency --jobs N --rate R``: an idle ``runjobs`` worker, N ``stamp`` jobs enqueued at R
  per second; latency per job is ``started_at - created_at``;
* ``profile-drain --jobs N --out FILE``: enqueue N no-op jobs and drain them with one worker
  loop run in this process under cProfile (``benchmarks/profile_drain.py`` starts it and
  prints the profile); the rate is the profiled one, slower than a real drain;
* ``claim --claims N --limit L [--raw-url URL]``: time ``claim_jobs`` (and, with a URL, the
  raw psycopg claim of ``benchmarks/raw.py``, interleaved with it) on a seeded table; on
  PostgreSQL with ``synchronous_commit`` off for both sessions, so that the figure is the
  statement's cost and not the disk's flush latency (which does not depend on the table).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django

ROOT = Path(__file__).resolve().parents[1]
#: Django is set up when a command runs, so that ``--help`` works without a database.
NOOP, STAMP = "bench.noop", "bench.stamp"


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    django.setup()


def definition(name: str) -> Any:
    from django_jobs.registry import registry

    return registry.get(name)


# --- enqueue ----------------------------------------------------------------------------------


def enqueue_one(jobs: int) -> dict[str, Any]:
    """``jobs`` calls of ``noop.enqueue()``, each its own statement(s) in autocommit."""
    noop = definition(NOOP)
    noop.enqueue()  # warm-up: creates the Queue row, connects, loads code paths
    started = time.perf_counter()
    for _ in range(jobs):
        noop.enqueue()
    seconds = time.perf_counter() - started
    return {"jobs": jobs, "seconds": seconds, "rate": jobs / seconds}


def enqueue_many(jobs: int, batch: int) -> dict[str, Any]:
    """``jobs`` jobs through ``noop.enqueue_many``, ``batch`` per call."""
    noop = definition(NOOP)
    noop.enqueue_many([{}])  # warm-up
    started = time.perf_counter()
    for first in range(0, jobs, batch):
        noop.enqueue_many([{}] * min(batch, jobs - first))
    seconds = time.perf_counter() - started
    return {"jobs": jobs, "batch": batch, "seconds": seconds, "rate": jobs / seconds}


# --- drain ------------------------------------------------------------------------------------


def runjobs_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "django", "runjobs", "--no-recurring", *args]


def enqueue_noops(jobs: int) -> None:
    """``jobs`` no-op jobs, enqueued 1,000 per ``enqueue_many`` call."""
    noop = definition(NOOP)
    for first in range(0, jobs, 1000):
        noop.enqueue_many([{}] * min(1000, jobs - first))


def drain(jobs: int, concurrency: int, timeout: float) -> dict[str, Any]:
    """Enqueue ``jobs`` no-op jobs, drain them with a burst worker, verify, measure."""
    started = time.perf_counter()
    enqueue_noops(jobs)
    enqueue_seconds = time.perf_counter() - started
    drained = drain_burst(jobs, ["--concurrency", str(concurrency)], timeout)
    return {**drained, "enqueue_seconds": enqueue_seconds}


def drain_burst(jobs: int, args: list[str], timeout: float) -> dict[str, Any]:
    """``runjobs --burst ARGS`` on the ``jobs`` enqueued jobs; verify, measure."""
    from django.db import connections

    connections.close_all()
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        process = subprocess.run(
            runjobs_command("--burst", *args),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
        wall = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if process.returncode != 0:
        raise RuntimeError(f"runjobs --burst exited {process.returncode}:\n{output[-3000:]}")
    try:
        checked = check_drained(jobs)
    except RuntimeError as exc:
        raise RuntimeError(
            f"{exc}\nrunjobs --burst exited 0 after {wall:.1f} s:\n{output}"
        ) from None
    return {**checked, "wall_seconds": wall}


def profile_drain(jobs: int, out: str) -> dict[str, Any]:
    """Enqueue ``jobs`` no-op jobs and drain them with one worker loop in this process,
    under cProfile (written to ``out``); verify as ``drain`` does."""
    import cProfile

    from django.db import connections

    from django_jobs.worker.loop import LoopOptions, WorkerLoop

    enqueue_noops(jobs)
    connections.close_all()
    loop = WorkerLoop("profile/1", LoopOptions(burst=True, recurring=False))
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(loop.run)
    wall = time.perf_counter() - started
    profiler.dump_stats(out)
    return {**check_drained(jobs), "wall_seconds": wall, "profile": out}


def check_drained(jobs: int) -> dict[str, Any]:
    """Every job succeeded at its first attempt, with one attempt row; the rows' time span."""
    from django.db.models import Count, Max, Min

    from django_jobs.models import Job, JobAttempt

    rows = Job.objects.aggregate(
        total=Count("pk"), first=Min("started_at"), last=Max("finished_at")
    )
    once = Job.objects.filter(state="succeeded", attempts=1).count()
    attempts = JobAttempt.objects.aggregate(total=Count("pk"), jobs=Count("job", distinct=True))
    ok_attempts = JobAttempt.objects.filter(outcome="succeeded", number=1).count()
    problems = []
    if rows["total"] != jobs or once != jobs:
        problems.append(f"{once} of {rows['total']} jobs succeeded at attempt 1 (wanted {jobs})")
    if attempts["total"] != jobs or attempts["jobs"] != jobs or ok_attempts != jobs:
        problems.append(
            f"{attempts['total']} attempt rows for {attempts['jobs']} jobs, "
            f"{ok_attempts} succeeded first attempts (wanted {jobs} of each)"
        )
    if problems:
        raise RuntimeError("drain: " + "; ".join(problems))
    seconds = (rows["last"] - rows["first"]).total_seconds()
    return {"jobs": jobs, "seconds": seconds, "rate": jobs / seconds, "exactly_once": True}


# --- run modes --------------------------------------------------------------------------------

#: The run-mode drains' jobs (``benchmarks/benchapp/jobs.py``): name -> its run mode.
SLEEPERS = {
    "bench.await_async": "async",
    "bench.sleep_thread": "thread",
    "bench.await_process": "process",
    "bench.sleep_process": "process",
}
NO_RUN_MODES = "this version has no run modes"


def run_mode(
    name: str, jobs: int, processes: int, slots: int, seconds: float, timeout: float
) -> dict[str, Any]:
    """Enqueue ``jobs`` jobs ``name`` (each waits ``seconds``), drain them with ``runjobs
    --burst --concurrency processes --slots slots``; verify, measure, and count the bodies
    that ran at once (from the ``[pid, start, end]`` each returns).

    Without run modes in this django_jobs the async and thread jobs do not exist: the result
    is ``{"skipped": ...}``; the process ones run without ``--slots`` (the option is missing
    too), as every job runs today.
    """
    from benchmarks.benchapp.jobs import RUN_MODES
    from django_jobs.models import Job

    mode = SLEEPERS[name]
    if mode != "process" and not RUN_MODES:
        return {"skipped": NO_RUN_MODES, "run_mode": mode}
    sleeper = definition(name)
    started = time.perf_counter()
    for first in range(0, jobs, 1000):
        sleeper.enqueue_many([{"seconds": seconds}] * min(1000, jobs - first))
    enqueue_seconds = time.perf_counter() - started
    args = ["--concurrency", str(processes)]
    if RUN_MODES:
        args += ["--slots", str(slots)]
    drained = drain_burst(jobs, args, timeout)
    bodies = list(Job.objects.values_list("result", flat=True))
    return {
        **drained,
        "run_mode": getattr(sleeper, "run_mode", "process"),
        "processes": processes,
        "slots": slots if RUN_MODES else None,
        "sleep_seconds": seconds,
        **overlap(bodies),
        "enqueue_seconds": enqueue_seconds,
    }


def overlap(bodies: list[list[float]]) -> dict[str, Any]:
    """How many of the ``[pid, start, end]`` bodies ran at once: overall, in one process."""
    by_pid: dict[int, list[tuple[float, float]]] = {}
    for pid, begun, ended in bodies:
        by_pid.setdefault(int(pid), []).append((begun, ended))
    return {
        "peak_running": peak([span for spans in by_pid.values() for span in spans]),
        "peak_running_per_process": max(peak(spans) for spans in by_pid.values()),
        "processes_used": len(by_pid),
        "body_p50_ms": statistics.median(ended - begun for _, begun, ended in bodies) * 1000,
    }


def peak(spans: list[tuple[float, float]]) -> int:
    """The most spans open at one time (one ending when another starts: not both open)."""
    events = sorted([(begun, 1) for begun, _ in spans] + [(ended, -1) for _, ended in spans])
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


# --- pickup latency ---------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def start_worker(log: Any) -> subprocess.Popen[bytes]:
    """A long-running ``runjobs`` with one process; returns once its process is registered."""
    from django_jobs.models import Worker

    process = subprocess.Popen(
        runjobs_command("--concurrency", "1"), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    wait_for(
        lambda: (
            Worker.objects.filter(supervisor__isnull=False, pid__gt=0).exists()
            or process.poll() is not None
        ),
        60,
        "the worker's process row",
    )
    if process.poll() is not None:
        raise RuntimeError(f"runjobs exited with {process.returncode}")
    return process


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def paced_enqueue(jobs: int, rate: float) -> None:
    """``stamp.enqueue()`` every ``1 / rate`` seconds on a fixed schedule."""
    stamp = definition(STAMP)
    first = time.perf_counter()
    for index in range(jobs):
        pause = first + index / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        stamp.enqueue()


def finished_count(since: Any) -> int:
    from django_jobs.models import Job

    return Job.objects.filter(created_at__gte=since, state="succeeded").count()


def latency(jobs: int, rate: float, timeout: float) -> dict[str, Any]:
    """Pickup latency of ``jobs`` enqueued at ``rate`` per second into an idle worker."""
    from django.utils import timezone

    from benchmarks.raw import latency_summary
    from django_jobs.models import Job

    with tempfile.TemporaryFile("w+") as log:
        process = start_worker(log)
        try:
            warm = timezone.now()
            paced_enqueue(3, rate)  # warm-up: the worker's LISTEN connection, code paths
            wait_for(lambda: finished_count(warm) >= 3, timeout, "the warm-up jobs")
            time.sleep(1.5)  # idle again, waiting on LISTEN
            since = timezone.now()
            paced_enqueue(jobs, rate)
            wait_for(lambda: finished_count(since) >= jobs, timeout, "the measured jobs")
        finally:
            stop_worker(process)
    rows = Job.objects.filter(created_at__gte=since).values_list(
        "created_at", "started_at", "result"
    )
    summary = latency_summary([(started - created).total_seconds() for created, started, _ in rows])
    to_body = [result - created.timestamp() for created, _, result in rows]
    summary["to_body_p50_ms"] = statistics.median(to_body) * 1000
    return summary


# --- claim time -------------------------------------------------------------------------------


def worker_connection() -> Any:
    """Where a worker process claims: its own session on PostgreSQL (prepared statements,
    unless ``DJANGO_JOBS_PREPARED_STATEMENTS`` is off), else Django's connection."""
    from django.db import connection

    from django_jobs import db

    return db.worker_session(connection.alias) or connection


def django_claims(target: Any, claims: int, limit: int) -> list[float]:
    """Seconds taken by ``claims`` calls of ``claim_jobs`` on ``target`` (every queue,
    ``limit`` rows), as a worker process calls it."""
    from django.db import connection
    from django.utils import timezone

    from django_jobs import db

    ops = db.for_connection(connection)
    times = []
    for _ in range(claims):
        started = time.perf_counter()
        jobs = ops.claim_jobs(
            target, queues=None, limit=limit, worker="bench/claim", now=timezone.now()
        )
        times.append(time.perf_counter() - started)
        if len(jobs) != limit:
            raise RuntimeError(f"claim_jobs returned {len(jobs)} jobs, wanted {limit}")
    return times


def claim(claims: int, limit: int, raw_url: str | None, rounds: int = 10) -> dict[str, Any]:
    """Median claim time, django_jobs and (with ``raw_url``) raw, in interleaved rounds."""
    from django.db import connection

    from benchmarks import raw

    conn = raw.connect(raw_url) if raw_url else None
    target = worker_connection()
    if connection.vendor == "postgresql":  # time the statement, not the disk's flush
        with target.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
        if conn is not None:
            conn.execute("SET synchronous_commit TO off")
    try:
        django_claims(target, 5, limit)  # warm-up, not counted
        if conn is not None:
            raw.claim_times(conn, 5, limit)
        mine: list[float] = []
        theirs: list[float] = []
        per_round = max(1, claims // rounds)
        for _ in range(rounds):
            mine += django_claims(target, per_round, limit)
            if conn is not None:
                theirs += raw.claim_times(conn, per_round, limit)
        plan = raw.explain_claim(conn, limit) if conn is not None else None
    finally:
        if conn is not None:
            conn.close()
    result: dict[str, Any] = {"limit": limit, "claims": len(mine), **timing("", mine)}
    if conn is not None:
        result.update(timing("raw_", theirs), plan=plan)
    return result


def timing(prefix: str, seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        f"{prefix}median_ms": statistics.median(ms),
        f"{prefix}p95_ms": ms[max(0, round(0.95 * len(ms)) - 1)],
    }


# --- command line -----------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.djbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("enqueue-one")
    one.add_argument("--jobs", type=int, required=True)
    many = sub.add_parser("enqueue-many")
    many.add_argument("--jobs", type=int, required=True)
    many.add_argument("--batch", type=int, required=True)
    dr = sub.add_parser("drain")
    dr.add_argument("--jobs", type=int, required=True)
    dr.add_argument("--concurrency", type=int, required=True)
    dr.add_argument("--timeout", type=float, default=1800)
    rm = sub.add_parser("run-mode")
    rm.add_argument("--job", choices=tuple(SLEEPERS), required=True)
    rm.add_argument("--jobs", type=int, required=True)
    rm.add_argument("--processes", type=int, required=True)
    rm.add_argument("--slots", type=int, required=True)
    rm.add_argument("--sleep", type=float, required=True)
    rm.add_argument("--timeout", type=float, default=1800)
    lat = sub.add_parser("latency")
    lat.add_argument("--jobs", type=int, required=True)
    lat.add_argument("--rate", type=float, required=True)
    lat.add_argument("--timeout", type=float, default=120)
    pr = sub.add_parser("profile-drain")
    pr.add_argument("--jobs", type=int, required=True)
    pr.add_argument("--out", required=True)
    cl = sub.add_parser("claim")
    cl.add_argument("--claims", type=int, required=True)
    cl.add_argument("--limit", type=int, default=10)
    cl.add_argument("--raw-url", default=None)
    return parser.parse_args(argv)


def run(options: argparse.Namespace) -> dict[str, Any]:
    setup()
    if options.command == "enqueue-one":
        return enqueue_one(options.jobs)
    if options.command == "enqueue-many":
        return enqueue_many(options.jobs, options.batch)
    if options.command == "drain":
        return drain(options.jobs, options.concurrency, options.timeout)
    if options.command == "run-mode":
        return run_mode(
            options.job,
            options.jobs,
            options.processes,
            options.slots,
            options.sleep,
            options.timeout,
        )
    if options.command == "profile-drain":
        return profile_drain(options.jobs, options.out)
    if options.command == "latency":
        return latency(options.jobs, options.rate, options.timeout)
    return claim(options.claims, options.limit, options.raw_url)


def main(argv: list[str] | None = None) -> None:
    result = run(parse(sys.argv[1:] if argv is None else argv))
    print(json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
