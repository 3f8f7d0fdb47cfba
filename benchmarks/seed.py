"""Fast seeding of the job table for the claim-time scenario: one INSERT ... SELECT per state.

Finished rows look like a busy history: ``bench.noop`` jobs that succeeded over the last
days (time-ordered ids as django_jobs makes them, ``expires_at`` a week after finishing, so
nothing is prunable yet). Queued rows are recent and ready. Attempt rows are not seeded: the
claim never reads them. Stdlib and psycopg (MariaDB: mysqlclient) only.
"""

from __future__ import annotations

import sqlite3
import time

import psycopg

COLUMNS = (
    "id, name, version, queue, state, priority, args, kwargs, meta, run_at, created_at, "
    "started_at, finished_at, attempts, max_attempts, worker, last_error, expires_at"
)

# i numbers the rows (ids stay unique); ts is spread evenly from ``age`` ago over ``span``.
POSTGRES_SQL = f"""
INSERT INTO django_jobs_job ({COLUMNS})
SELECT (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7000-8000-'
        || lpad(to_hex(i), 12, '0'))::uuid,
       'bench.noop', 1, 'default', %(state)s, 0, '[]', '{{}}', '{{}}', ts, ts,
       CASE WHEN %(finished)s THEN ts END,
       CASE WHEN %(finished)s THEN ts + interval '2 milliseconds' END,
       CASE WHEN %(finished)s THEN 1 ELSE 0 END, 4,
       CASE WHEN %(finished)s THEN 'seed' END, '',
       CASE WHEN %(finished)s THEN ts + interval '7 days' END
FROM (
    SELECT i, ts, lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') AS h
    FROM (
        SELECT i, now() - %(age)s::interval
                  + (i - %(first)s) * (%(span)s::interval / greatest(%(count)s, 1)) AS ts
        FROM generate_series(%(first)s::bigint, %(first)s::bigint + %(count)s - 1) AS i
    ) AS numbered
) AS rows
"""

SQLITE_SQL = f"""
WITH RECURSIVE n(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM n WHERE i < :last)
INSERT INTO django_jobs_job ({COLUMNS})
SELECT printf('%012x70008000%012x', CAST(ms AS INTEGER), i),
       'bench.noop', 1, 'default', :state, 0, '[]', '{{}}', '{{}}', ts, ts,
       CASE WHEN :finished THEN ts END,
       CASE WHEN :finished THEN strftime('%Y-%m-%d %H:%M:%f', (ms + 2) / 1000.0, 'unixepoch') END,
       CASE WHEN :finished THEN 1 ELSE 0 END, 4,
       CASE WHEN :finished THEN 'seed' END, '',
       CASE WHEN :finished
            THEN strftime('%Y-%m-%d %H:%M:%f', ms / 1000.0 + 7 * 86400, 'unixepoch') END
FROM (
    SELECT i, ms, strftime('%Y-%m-%d %H:%M:%f', ms / 1000.0, 'unixepoch') AS ts
    FROM (SELECT i, :start_ms + (i - :first) * :step_ms AS ms FROM n)
)
"""


def postgres(url: str, finished: int, queued: int) -> float:
    """Insert ``finished`` succeeded rows and ``queued`` ready rows, VACUUM ANALYZE; seconds."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        for state, first, count, age, span in (
            ("succeeded", 1, finished, "6 days", "5 days"),
            ("queued", finished + 1, queued, "1 minute", "30 seconds"),
        ):
            conn.execute(
                POSTGRES_SQL,
                {
                    "state": state,
                    "finished": state == "succeeded",
                    "first": first,
                    "count": count,
                    "age": age,
                    "span": span,
                },
            )
        conn.execute("VACUUM ANALYZE django_jobs_job")
    return time.perf_counter() - started


def sqlite(path: str, finished: int, queued: int) -> float:
    """The same rows in an SQLite file, then ANALYZE; seconds."""
    started = time.perf_counter()
    now_ms = time.time() * 1000
    conn = sqlite3.connect(path)
    try:
        for state, first, count, age_ms, span_ms in (
            ("succeeded", 1, finished, 6 * 86_400_000, 5 * 86_400_000),
            ("queued", finished + 1, queued, 60_000, 30_000),
        ):
            conn.execute(
                SQLITE_SQL,
                {
                    "state": state,
                    "finished": state == "succeeded",
                    "first": first,
                    "last": first + count - 1,
                    "start_ms": now_ms - age_ms,
                    "step_ms": span_ms / max(count, 1),
                },
            )
            conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()
    return time.perf_counter() - started


def mariadb(url: str, finished: int, queued: int) -> float:
    """The same rows on MariaDB (multi-row INSERTs from mysqlclient), then ANALYZE; seconds."""
    from datetime import datetime, timedelta, timezone
    from urllib.parse import unquote, urlparse

    import MySQLdb

    parts = urlparse(url)
    started = time.perf_counter()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    conn = MySQLdb.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")),
        charset="utf8mb4",
    )
    insert = f"INSERT INTO django_jobs_job ({COLUMNS}) VALUES ({', '.join(['%s'] * 18)})"
    try:
        cursor = conn.cursor()
        for state, first, count, age, span in (
            ("succeeded", 1, finished, timedelta(days=6), timedelta(days=5)),
            ("queued", finished + 1, queued, timedelta(minutes=1), timedelta(seconds=30)),
        ):
            step = span / max(count, 1)
            rows = []
            for i in range(first, first + count):
                ts = now - age + (i - first) * step
                done = state == "succeeded"
                ms = int(ts.replace(tzinfo=timezone.utc).timestamp() * 1000)
                rows.append(
                    (
                        f"{ms:012x}70008000{i:012x}",
                        "bench.noop", 1, "default", state, 0, "[]", "{}", "{}", ts, ts,
                        ts if done else None,
                        ts + timedelta(milliseconds=2) if done else None,
                        1 if done else 0, 4, "seed" if done else None, "",
                        ts + timedelta(days=7) if done else None,
                    )
                )  # fmt: skip
                if len(rows) == 5_000:
                    cursor.executemany(insert, rows)
                    rows = []
            if rows:
                cursor.executemany(insert, rows)
            conn.commit()
        cursor.execute("ANALYZE TABLE django_jobs_job")
        cursor.fetchall()
    finally:
        conn.close()
    return time.perf_counter() - started
