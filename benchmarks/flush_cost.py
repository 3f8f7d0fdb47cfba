"""What a flush of successes costs on PostgreSQL, and how much of it the attempt rows are.

``python benchmarks/flush_cost.py [--batch N] [--jobs N] [--rounds N]`` seeds N queued no-op
jobs (default 10,000) into fresh migrated databases (a throwaway cluster unless
``DJANGO_JOBS_BENCH_DATABASE_URL`` is set), claims them N at a time (default 50, the worker's
batch) with the raw claim statement, and times each completion with one of these statements,
prepared with a generic plan as a worker's own connection runs them:

* ``raw``: the raw baseline's UPDATE from two arrays (``benchmarks/raw.py``);
* ``update``: django_jobs' success statement without its attempt rows;
* ``update+attempts``: django_jobs' statement as the worker runs it (UPDATE, and an INSERT of
  one ``JobAttempt`` row per job from its ``RETURNING``);
* ``update+attempts, no FK``: the same with the attempt table's foreign key dropped.

It prints the median milliseconds per flush of each, per round. The time includes building
the statement's parameters in Python, as a worker does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from benchmarks import raw
from benchmarks.run import fresh, postgres_server


def success_sql() -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    os.environ.setdefault("BENCH_DB_ENGINE", "sqlite")  # only the SQL text is needed
    os.environ.setdefault("BENCH_DB_PATH", os.devnull)
    import django

    django.setup()
    from django_jobs.db.postgresql.session import success_sql as sql

    return sql()


def flush(conn: psycopg.Connection[Any], sql: str, rows: list[Any]) -> None:
    now = raw.utcnow()
    batch = [
        {
            "id": str(row[0]),
            "token": str(row[1]),
            "result": None,
            "started": now.isoformat(),
            "finished": now.isoformat(),
            "expires": (now + raw.RESULT_TTL).isoformat(),
        }
        for row in rows
    ]
    conn.execute(sql, {"rows": json.dumps(batch), "worker": "flush/1"}).fetchall()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args(argv)
    full = success_sql()
    update_only = full.split(")\nINSERT", 1)[0] + ")\nSELECT id FROM done"
    variants = {
        "raw": lambda conn, rows: raw.complete(conn, rows),
        "update": lambda conn, rows: flush(conn, update_only, rows),
        "update+attempts": lambda conn, rows: flush(conn, full, rows),
        "update+attempts, no FK": lambda conn, rows: flush(conn, full, rows),
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
