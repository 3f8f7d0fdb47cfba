"""How long the metrics view takes on a big job table (PostgreSQL), and what it reads.

Seeds ``--rows`` jobs (default 1,000,000) straight with SQL: a busy history of finished
jobs on five queues (1% failed with a dead letter, 1% cancelled), each with one attempt
finished over the last three days in id order (as a worker inserts them), plus a backlog of
queued, scheduled and running jobs and four live workers; then ``ANALYZE``. It then scrapes
the view (``DJANGO_JOBS_METRICS_PUBLIC``, no authentication) ``--scrapes`` times, inserting
``--per-scrape`` freshly settled attempts before each, so that every scrape also rolls the
counters up, and prints the median, 95th percentile and slowest time and the queries of
one scrape. Timing is measured here, never asserted in the test suite.

Uses ``DJANGO_JOBS_BENCH_DATABASE_URL`` when set (a database it may fill), otherwise a
throwaway cluster (``tests/pgcluster.py``), removed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED_SQL = """
INSERT INTO django_jobs_job (id, name, version, queue, state, priority, args, kwargs, meta,
    run_at, created_at, started_at, finished_at, attempts, max_attempts, worker, last_error)
SELECT md5(i::text)::uuid, 'bench.job' || (i %% 7), 1, 'q' || (i %% 5),
       CASE WHEN i %% 100 = 0 THEN 'failed' WHEN i %% 100 = 1 THEN 'cancelled'
            ELSE 'succeeded' END,
       0, '[]', '{}', '{}', ts, ts, ts, ts + interval '20 milliseconds', 1, 1, 'seed', ''
FROM (SELECT i, now() - interval '3 days' + i * (interval '3 days' - interval '2 minutes')
                / %(rows)s AS ts
      FROM generate_series(1, %(rows)s) AS i) AS numbered
"""
ATTEMPTS_SQL = """
INSERT INTO django_jobs_jobattempt (job_id, number, worker, started_at, finished_at, outcome,
    error_type, error_message, traceback)
SELECT id, 1, 'seed', started_at, finished_at,
       CASE state WHEN 'succeeded' THEN 'succeeded' WHEN 'failed' THEN 'failed'
                  ELSE 'cancelled' END, '', '', ''
FROM django_jobs_job ORDER BY finished_at
"""
BACKLOG_SQL = """
INSERT INTO django_jobs_job (id, name, version, queue, state, priority, args, kwargs, meta,
    run_at, created_at, attempts, max_attempts, worker, last_error)
SELECT gen_random_uuid(), 'bench.job1', 1, 'q' || (i %% 5), %(state)s, 0, '[]', '{}', '{}',
       now() + %(offset)s::interval - i * interval '10 milliseconds', now(), 0, 1,
       CASE WHEN %(state)s = 'running' THEN 'w' || (i %% 4) || '/1' END, ''
FROM generate_series(1, %(count)s) AS i
"""
DEAD_LETTERS_SQL = """
INSERT INTO django_jobs_deadletter (job_id, name, reason, failed_at)
SELECT id, name, 'boom', finished_at FROM django_jobs_job WHERE state = 'failed'
"""
WORKERS_SQL = """
INSERT INTO django_jobs_worker (id, name, hostname, pid, queues, role, concurrency, state,
    started_at, heartbeat_at)
SELECT 'w' || i, '', 'host', i, '[]', '', 4, 'running', now(), now() + interval '1 hour'
FROM generate_series(0, 3) AS i
"""
# A freshly settled attempt of each of ``n`` finished jobs, just past the rollup's lag.
FRESH_SQL = """
INSERT INTO django_jobs_jobattempt (job_id, number, worker, started_at, finished_at, outcome,
    error_type, error_message, traceback)
SELECT id, 2, 'bench', now() - interval '62 seconds', now() - interval '61 seconds',
       'succeeded', '', '', ''
FROM django_jobs_job WHERE state = 'succeeded' AND attempts = 1 LIMIT %(n)s
"""
MARK_SQL = """
UPDATE django_jobs_job SET attempts = 2, run_at = now() - interval '63 seconds'
WHERE id IN (SELECT job_id FROM django_jobs_jobattempt WHERE number = 2 AND worker = 'bench')
  AND attempts = 1
"""


def setup_django(url: str) -> None:
    import django
    from django.conf import settings

    from benchmarks.settings import postgres_database

    settings.configure(
        SECRET_KEY="benchmark-only-not-secret",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.admin",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django_jobs",
        ],
        DATABASES={"default": postgres_database(url)},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        ROOT_URLCONF="tests.urls",
        DJANGO_JOBS_METRICS_PUBLIC=True,
    )
    django.setup()


def seed(rows: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(SEED_SQL, {"rows": rows})
        cursor.execute(ATTEMPTS_SQL)
        for state, count, offset in (
            ("queued", 5_000, "0 seconds"),
            ("scheduled", 1_000, "1 hour"),
            ("running", 200, "0 seconds"),
        ):
            cursor.execute(BACKLOG_SQL, {"state": state, "count": count, "offset": offset})
        cursor.execute(DEAD_LETTERS_SQL)
        cursor.execute(WORKERS_SQL)
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM django_jobs_job")
        jobs = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM django_jobs_jobattempt")
        attempts = cursor.fetchone()[0]
    print(
        f"seeded {jobs:,} jobs and {attempts:,} attempts in {time.perf_counter() - started:.0f} s"
    )


def measure(scrapes: int, per_scrape: int, *, verbose: bool = False) -> None:
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from django_jobs.metrics.views import metrics

    factory = RequestFactory()

    cpu = []

    def scrape() -> tuple[float, bytes]:
        request = factory.get("/jobs/metrics/")
        started, started_cpu = time.perf_counter(), time.process_time()
        response = metrics(request)
        elapsed = time.perf_counter() - started
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.content
        return elapsed, response.content

    scrape()  # sets the counters' watermark
    scrape()  # warm: connection, statistics cache
    times = []
    for _ in range(scrapes):
        with connection.cursor() as cursor:
            cursor.execute(FRESH_SQL, {"n": per_scrape})
            cursor.execute(MARK_SQL)
        elapsed, body = scrape()
        times.append(elapsed * 1000)
    with CaptureQueriesContext(connection) as queries:
        scrape()
    times.sort()
    if verbose:
        for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"])):
            print(f"  {float(query['time']) * 1000:6.1f} ms  {query['sql'][:150]}")
    p95 = times[max(0, round(len(times) * 0.95) - 1)]
    print(
        f"metrics view, {scrapes} scrapes, {per_scrape} new attempts each: "
        f"median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms; "
        f"{len(queries)} queries, {len(body):,} bytes"
    )
    load = os.getloadavg()[0]
    print(
        f"  Python CPU per scrape: median {statistics.median(cpu):.1f} ms; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--per-scrape", type=int, default=200)
    parser.add_argument("--show", action="store_true", help="print the last scrape")
    args = parser.parse_args()
    url = os.environ.get("DJANGO_JOBS_BENCH_DATABASE_URL")
    if url:
        run(url, args)
        return
    from tests.pgcluster import ThrowawayCluster

    with ThrowawayCluster() as cluster:
        run(cluster.url, args)


def run(url: str, args: argparse.Namespace) -> None:
    setup_django(url)
    seed(args.rows)
    measure(args.scrapes, args.per_scrape, verbose=args.show)
    if args.show:
        from django.test import RequestFactory

        from django_jobs.metrics.views import metrics

        print(metrics(RequestFactory().get("/jobs/metrics/")).content.decode())


if __name__ == "__main__":
    main()
