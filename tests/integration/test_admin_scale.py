"""The changelist and the dashboard stay cheap on a big job table: no COUNT(*) over it.

One million job rows on PostgreSQL (20,000 on SQLite and MariaDB), written with one INSERT
... SELECT, then analysed; each page is loaded under CaptureQueriesContext.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_jobs.models import Job, JobAttempt, Queue
from tests.browser import support

pytestmark = pytest.mark.django_db

ROWS = {"postgresql": 1_000_000, "sqlite": 20_000, "mysql": 20_000}
#: Old attempts (two days ago): enough to make a scan of the attempt table visible.
OLD_ATTEMPTS = {"postgresql": 250_000, "sqlite": 20_000, "mysql": 20_000}
RECENT_ATTEMPTS = 2_000
#: Queries a page may run: session, user, then the page's own handful.
MAX_QUERIES = 12
JOB_TABLE = re.compile(r'\bFROM\s+(["`])django_jobs_job\1')

SERIES = {
    "postgresql": "FROM generate_series(1, %(n)s) AS s(i)",
    "sqlite": "FROM (WITH RECURSIVE s(i) AS "
    "(SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %(n)s) SELECT i FROM s)",
    # MariaDB's sequence engine: a table seq_1_to_N of the numbers 1 to N.
    "mysql": "FROM (SELECT seq AS i FROM seq_1_to_%(n)s) AS s",
}
JOB_ID = {
    "postgresql": "lpad(to_hex(i), 32, '0')::uuid",
    "sqlite": "printf('%%032x', i)",
    "mysql": "lpad(hex(i), 32, '0')",
}
AGO = {
    "postgresql": "now() - make_interval(secs => %s)",
    "sqlite": "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-' || (%s) || ' seconds')",
    "mysql": "utc_timestamp(6) - INTERVAL (%s) SECOND",
}
JSON = {"postgresql": "'{}'::jsonb", "sqlite": "'{}'", "mysql": "'{}'"}
JSON_LIST = {"postgresql": "'[]'::jsonb", "sqlite": "'[]'", "mysql": "'[]'"}
ANALYZE = {"postgresql": "ANALYZE {}", "sqlite": "ANALYZE {}", "mysql": "ANALYZE TABLE {}"}


def insert_jobs(vendor: str, rows: int) -> None:
    """Mostly succeeded jobs over three queues; 2 % failed, 1 % cancelled, 3 % waiting."""
    state = (
        "CASE WHEN i % 100 < 2 THEN 'failed' WHEN i % 100 = 2 THEN 'cancelled' "
        "WHEN i % 100 IN (3, 4) THEN 'queued' WHEN i % 100 = 5 THEN 'scheduled' "
        "WHEN i % 1000 = 6 THEN 'running' ELSE 'succeeded' END"
    )
    queue = "CASE i % 3 WHEN 0 THEN 'default' WHEN 1 THEN 'mail' ELSE 'reports' END"
    sql = (
        "INSERT INTO django_jobs_job (id, name, version, queue, state, priority, args, kwargs, "
        "meta, run_at, created_at, attempts, max_attempts, last_error) "
        f"SELECT {JOB_ID[vendor]}, 'tests.testapp.jobs.add', 1, {queue}, {state}, 0, "
        f"{JSON_LIST[vendor]}, {JSON[vendor]}, {JSON[vendor]}, {AGO[vendor] % 'i'}, "
        f"{AGO[vendor] % 'i'}, 1, 4, '' " + SERIES[vendor] % {"n": rows}
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("%%", "%"))


def insert_attempts(vendor: str, rows: int) -> None:
    """``rows`` old attempts (two days ago), then recent ones of the last hour."""
    columns = (
        "INSERT INTO django_jobs_jobattempt (job_id, number, worker, started_at, finished_at, "
        "outcome, error_type, error_message, traceback) "
    )
    old = AGO[vendor] % "172800"
    recent = AGO[vendor] % "(i % 3000)"
    outcome = "CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'succeeded' END"
    with connection.cursor() as cursor:
        cursor.execute(
            (
                columns
                + f"SELECT {JOB_ID[vendor]}, 1, 'w', {old}, {old}, 'succeeded', '', '', '' "
                + SERIES[vendor] % {"n": rows}
            ).replace("%%", "%")
        )
        cursor.execute(
            (
                columns
                + f"SELECT {JOB_ID[vendor]}, 2, 'w', {recent}, {recent}, {outcome}, '', '', '' "
                + SERIES[vendor] % {"n": RECENT_ATTEMPTS}
            ).replace("%%", "%")
        )


@pytest.fixture(scope="module")
def big_table(django_db_setup, django_db_blocker) -> Iterator[int]:
    """The seeded tables, committed for the whole module and emptied afterwards."""
    with django_db_blocker.unblock():
        vendor = connection.vendor
        rows = ROWS[vendor]
        for name in ("default", "mail", "reports"):
            Queue.objects.get_or_create(name=name)
        insert_jobs(vendor, rows)
        insert_attempts(vendor, OLD_ATTEMPTS[vendor])
        with connection.cursor() as cursor:
            for model in (Job, JobAttempt):
                cursor.execute(ANALYZE[vendor].format(model._meta.db_table))
                if cursor.description:  # MySQL answers with a result set
                    cursor.fetchall()
        yield rows
        empty_tables()


def empty_tables() -> None:
    """Remove the seeded rows, and on PostgreSQL the statistics gathered from them.

    TRUNCATE (deleting a million rows is slow) also resets the table's size in pg_class; the
    column statistics are removed too where the test user may (a superuser, as with
    runtests.py's throwaway cluster), so that later tests plan as on a fresh database.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE django_jobs_jobattempt, django_jobs_job CASCADE")
            try:
                with transaction.atomic():
                    cursor.execute(
                        "DELETE FROM pg_statistic WHERE starelid IN "
                        "('django_jobs_job'::regclass, 'django_jobs_jobattempt'::regclass)"
                    )
            except DatabaseError:
                pass  # not a superuser: the statistics stay until the next ANALYZE
    else:
        JobAttempt.objects.all()._raw_delete("default")
        Job.objects.all()._raw_delete("default")
    Queue.objects.all().delete()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


def enclosing_subquery(sql: str, start: int) -> str:
    """The SQL from ``start`` to the parenthesis closing the subquery around it (or the end)."""
    depth = 0
    for index in range(start, len(sql)):
        if sql[index] == "(":
            depth += 1
        elif sql[index] == ")":
            if depth == 0:
                return sql[start:index]
            depth -= 1
    return sql[start:]


def full_job_counts(queries: CaptureQueriesContext) -> list[str]:
    """Statements that COUNT over the job table without a LIMIT on the rows they read."""
    found = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if "COUNT(" not in sql.upper():
            continue
        for match in JOB_TABLE.finditer(sql):
            if "LIMIT" not in enclosing_subquery(sql, match.end()).upper():
                found.append(sql)
    return found


def load(client, url: str) -> tuple[str, CaptureQueriesContext]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), queries


def test_full_job_counts__flags_an_unlimited_count():
    with CaptureQueriesContext(connection) as queries:
        Job.objects.filter(state="queued").count()
        Job.objects.filter(state="queued")[:5].count()
    assert len(full_job_counts(queries)) == 1


def test_job_changelist__big_table_bounded_queries_no_full_count(admin_client, big_table):
    page, queries = load(admin_client, reverse("admin:django_jobs_job_changelist"))
    assert len(queries) <= MAX_QUERIES, [q["sql"] for q in queries.captured_queries]
    assert full_job_counts(queries) == []
    expected = "about " if connection.vendor == "postgresql" else "more than 10,000"
    assert expected in page


def test_job_changelist__big_table_filtered_bounded(admin_client, big_table):
    url = reverse("admin:django_jobs_job_changelist") + "?state__exact=succeeded&p=3"
    page, queries = load(admin_client, url)
    assert len(queries) <= MAX_QUERIES and full_job_counts(queries) == []
    assert "more than 10,000" in page


def test_dashboard__big_table_bounded_queries_no_full_count(admin_client, big_table):
    page, queries = load(admin_client, reverse("admin:django_jobs_dashboard"))
    assert len(queries) <= MAX_QUERIES, [q["sql"] for q in queries.captured_queries]
    assert full_job_counts(queries) == []
    assert page.count('class="dj-bar dj-bar-failed"') == 12


def test_dashboard__big_table_counts_recent_attempts_only(admin_client, big_table):
    from django_jobs.admin import stats

    snapshot = stats.snapshot()
    assert snapshot.succeeded + snapshot.failed == RECENT_ATTEMPTS
    assert snapshot.failed == RECENT_ATTEMPTS // 10


def explain(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres_only
def test_recent_attempts__explain_reads_a_primary_key_range(big_table):
    from django.utils import timezone

    from django_jobs.admin import stats

    since = stats.window_start(timezone.now())
    plan = explain(stats.recent_attempts_query("default", since))
    assert "Seq Scan" not in plan and "django_jobs_jobattempt_pkey" in plan, plan


@pytest.mark.postgres_only
def test_job_changelist__explain_newest_first_by_primary_key(big_table):
    plan = explain(Job.objects.order_by("-pk")[:50])
    assert "Index Scan Backward using django_jobs_job_pkey" in plan, plan
