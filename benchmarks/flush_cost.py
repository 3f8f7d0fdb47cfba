"""What a flush of successes costs on PostgreSQL, and how much of it the attempt rows are.

``python benchmarks/flush_cost.py [--batch N] [--jobs N] [--rounds N]`` seeds N queued no-op
jobs (default 10,000) into fresh migrated databases (a throwaway cluster unless
``DJANGO_JOBS_BENCH_DATABASE_URL`` is set), claims them N at a time (default 50, the worker's
batch) with the raw claim statement, and times each completion with one of these statements,
prepared with a generic plan as a worker's own connection runs them:

* ``raw``: the raw baseline's UPDATE from two arrays (``benchmarks/raw.py``);
* ``update``: django_jobs' statement of attempts' ends without its attempt rows;
* ``update+attempts``: django_jobs' statement as the worker runs it (UPDATE, and an INSERT of
  one ``JobAttempt`` row per job from its ``RETURNING``);
* ``update+attempts, no FK``: the same with the attempt table's foreign key dropped.

It prints the median milliseconds per flush of each, per round. The time includes building
the statement's parameters in Python, as a worker does (``record_ends``' own rows). Every
job of a flush succeeds, except with ``--retried N``: N jobs of each flush fail and are
retried (their row goes back to ``scheduled``, and their attempt row carries the error).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

if __package__ in (None, ""):  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from benchmarks import raw
from benchmarks.run import fresh, postgres_server


@functools.cache
def statement() -> tuple[str, Any, Any]:
    """The worker's statement, its row builder and ``Ending``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    os.environ.setdefault("BENCH_DB_ENGINE", "sqlite")  # only the SQL text is needed
    os.environ.setdefault("BENCH_DB_PATH", os.devnull)
    import django

    django.setup()
    from django_jobs.db.engine import Ending
    from django_jobs.db.postgresql import session

    return session.ends_sql(), session._end_row, Ending


def flush(conn: psycopg.Connection[Any], sql: str, rows: list[Any], retried: int) -> None:
    _, end_row, ending = statement()
    now = raw.utcnow()
    later = now + raw.RESULT_TTL
    released = {"claim_token": None, "lease_expires_at": None, "cancel_requested_at": None}
    ends = []
    for number, row in enumerate(rows):
        job = Claimed(row[0], row[1])
        if number < retried:
            fields = {
                "state": "scheduled",
                "started_at": now,
                "run_at": later,
                "worker": None,
                "last_error": "ValueError: no",
                **released,
            }
            ends.append(ending(job, fields, now, "failed", "ValueError", "no", "Traceback"))
            continue
        fields = {
            "state": "succeeded",
            "result": None,
            "started_at": now,
            "finished_at": now,
            "expires_at": later,
            "last_error": "",
            **released,
        }
        ends.append(ending(job, fields, now, "succeeded"))
    params = {"rows": json.dumps([end_row(end) for end in ends]), "worker": "flush/1"}
    conn.execute(sql, params).fetchall()


class Claimed(NamedTuple):
    pk: Any
    claim_token: Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--retried", type=int, default=0)
    options = parser.parse_args(argv)
    full, retried = statement()[0], options.retried
    update_only = full.split(")\nINSERT", 1)[0] + ")\nSELECT id FROM done"
    variants = {
        "raw": lambda conn, rows: raw.complete(conn, rows),
        "update": lambda conn, rows: flush(conn, update_only, rows, retried),
        "update+attempts": lambda conn, rows: flush(conn, full, rows, retried),
        "update+attempts, no FK": lambda conn, rows: flush(conn, full, rows, retried),
    }
    with postgres_server() as server:
        server.prepare()
        for round_ in range(1, options.rounds + 1):
            for name, complete in variants.items():
                with fresh(server, "flush_cost") as url:
                    server.seed(url, 0, options.jobs)
                    with psycopg.connect(url, autocommit=True, prepare_threshold=0) as conn:
                        conn.execute("SET plan_cache_mode = force_generic_plan")
                        if name.endswith("no FK"):
                            drop_foreign_keys(conn)
                        times = []
                        while rows := raw.claim(conn, options.batch, "flush/1"):
                            began = time.perf_counter()
                            complete(conn, rows)
                            times.append(time.perf_counter() - began)
                median = statistics.median(times) * 1000
                print(
                    f"round {round_}  {name:24s} {median:6.2f} ms per flush of "
                    f"{options.batch} (median of {len(times)})",
                    flush=True,
                )
    return 0


def drop_foreign_keys(conn: psycopg.Connection[Any]) -> None:
    names = conn.execute(
        "SELECT conname FROM pg_constraint "
        "WHERE conrelid = 'django_jobs_jobattempt'::regclass AND contype = 'f'"
    ).fetchall()
    for (name,) in names:
        conn.execute(f'ALTER TABLE django_jobs_jobattempt DROP CONSTRAINT "{name}"')


if __name__ == "__main__":
    sys.exit(main())
