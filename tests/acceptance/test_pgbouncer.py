"""Behind PgBouncer in transaction mode: poll-only workers without server-side prepared
statements, a worker killed with kill -9 and rescued, and the jobs tables in their own database.

Every Django process here (migrate, the enqueues, the workers) runs with
``tests.pgbouncer_settings`` (the settings of docs/howto/deployment.md) against fresh databases
of the test server reached through a throwaway PgBouncer (tests/pgbouncer.py). The test reads
the outcome straight from the server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.db import connection

from django_jobs.models import Job, JobAttempt, Worker
from tests.acceptance.conftest import ROOT, wait_for
from tests.pgbouncer import Bouncer, find_pgbouncer
from tests.testapp.models import Note

pytestmark = [pytest.mark.acceptance, pytest.mark.postgres_only]

SLOW_SECONDS = 6


@pytest.fixture(scope="module")
def bouncer() -> Iterator[Bouncer]:
    program = find_pgbouncer()
    if program is None:
        message = "pgbouncer is not installed (apt-get install pgbouncer)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = connection.settings_dict
    with Bouncer(program, server["HOST"], int(server["PORT"]), server["USER"]) as running:
        yield running


@pytest.fixture
def new_database() -> Iterator[Callable[[], str]]:
    """Creates empty databases on the test server (not through PgBouncer); drops them after."""
    created: list[str] = []

    def create() -> str:
        name = f"django_jobs_bouncer_{uuid.uuid4().hex[:12]}"
        with server(None) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return name

    yield create
    with server(None) as admin:
        for name in created:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server(database: str | None):
    """A direct autocommit connection to ``database`` (the server's own by default)."""
    import psycopg

    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=database or settings["NAME"],
        autocommit=True,
    )


def rows(database: str, sql: str) -> list[tuple]:
    with server(database) as conn:
        return conn.execute(sql).fetchall()


def jobs_by_state(database: str) -> dict[str, int]:
    table = Job._meta.db_table
    return dict(rows(database, f"SELECT state, count(*) FROM {table} GROUP BY state"))


def bouncer_env(bouncer: Bouncer, main: str, jobs: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DJANGO_JOBS_TEST_DB_NAME", None)
    env.pop("DJANGO_JOBS_TEST_JOBS_DB", None)
    env["DJANGO_SETTINGS_MODULE"] = "tests.pgbouncer_settings"
    env["DJANGO_JOBS_TEST_PGBOUNCER"] = f"{bouncer.host}:{bouncer.port}"
    env["DJANGO_JOBS_TEST_MAIN_DB"] = main
    if jobs:
        env["DJANGO_JOBS_TEST_JOBS_DB"] = jobs
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def manage(env: dict[str, str], *args: str) -> str:
    """Run a manage.py command through PgBouncer; its output, or a failure that shows it."""
    result = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "django", "runjobs", "--no-recurring", "--idle-interval"]
    return subprocess.Popen(
        [*command, "0.2", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # the whole worker: supervisor and processes
    process.wait()


ENQUEUE = """
from django.db import transaction
from tests.testapp import jobs
from tests.testapp.models import Note

jobs.add.enqueue_many([{{"a": i, "b": i}} for i in range({many})])
for i in range({single}):
    jobs.add.using(priority=i % 3).enqueue(i, 1)
with transaction.atomic(using="default"):
    note = Note.objects.create(text="written with the enqueue")
    jobs.write_note.enqueue(f"note {{note.pk}}")
"""


def test_pgbouncer__poll_only_workers_rescue_a_killed_worker(bouncer, new_database):
    database = new_database()
    env = bouncer_env(bouncer, database)
    env.update(
        DJANGO_JOBS_WORKER_TIMEOUT="2",
        DJANGO_JOBS_HEARTBEAT_INTERVAL="0.5",
        DJANGO_JOBS_MAINTENANCE_INTERVAL="0.5",
    )
    manage(env, "migrate", "--run-syncdb", "--verbosity", "0")
    manage(
        env,
        "shell",
        "--command",
        f"from tests.testapp import jobs\n"
        f"for _ in range(2): jobs.long_finish.enqueue({SLOW_SECONDS})",
    )
    victim = start_worker(env, "--concurrency", "2")
    workers = [victim]
    try:
        wait_for(lambda: jobs_by_state(database).get("running") == 2, timeout=60)
        kill(victim)
        workers += [start_worker(env, "--concurrency", "2") for _ in range(2)]
        # Enqueued while the workers wait: they find the jobs by polling (no LISTEN).
        manage(env, "shell", "--command", ENQUEUE.format(many=40, single=10))
        wait_for(lambda: jobs_by_state(database) == {"succeeded": 53}, timeout=120)
    finally:
        for process in workers:
            kill(process)
    attempts = JobAttempt._meta.db_table
    job_table = Job._meta.db_table
    rescued = rows(
        database,
        f"SELECT j.attempts, a.outcome FROM {job_table} j JOIN {attempts} a ON a.job_id = j.id "
        f"WHERE j.name = 'tests.testapp.jobs.long_finish' ORDER BY j.id, a.number",
    )
    assert rescued == [(2, "lost"), (2, "succeeded")] * 2
    results = rows(
        database, f"SELECT result FROM {job_table} WHERE name = 'tests.testapp.jobs.add'"
    )
    assert sorted(result for (result,) in results) == sorted(
        [2 * i for i in range(40)] + [i + 1 for i in range(10)]
    )
    dead = rows(database, f"SELECT count(*) FROM {Worker._meta.db_table} WHERE state = 'dead'")
    assert dead[0][0] >= 1
    assert rows(database, f"SELECT count(*) FROM {Note._meta.db_table}")[0][0] == 2
    assert "prepared statement" not in bouncer.log


def test_pgbouncer__jobs_tables_in_their_own_database(bouncer, new_database):
    main, jobs_database = new_database(), new_database()
    env = bouncer_env(bouncer, main, jobs_database)
    manage(env, "migrate", "--run-syncdb", "--verbosity", "0")
    manage(env, "migrate", "--database", "jobs", "--verbosity", "0")
    manage(env, "check", "--database", "default", "--database", "jobs", "--fail-level", "WARNING")
    manage(env, "shell", "--command", ENQUEUE.format(many=20, single=5))
    output = manage(env, "runjobs", "--burst", "--no-recurring", "--concurrency", "2")
    assert "26 jobs run" in output, output
    assert jobs_by_state(jobs_database) == {"succeeded": 26}
    tables = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    assert Job._meta.db_table not in {name for (name,) in rows(main, tables)}
    assert Note._meta.db_table not in {name for (name,) in rows(jobs_database, tables)}
    # The job wrote its note to the default database, the enqueue's own write beside it.
    notes = rows(main, f"SELECT text FROM {Note._meta.db_table} ORDER BY id")
    assert notes[0] == ("written with the enqueue",)
    assert len(notes) == 2
