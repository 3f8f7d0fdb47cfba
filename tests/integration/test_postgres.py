"""PostgreSQL specifics: NOTIFY per queue per transaction, the indexes, storage parameters."""

import json
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from django_jobs import db
from django_jobs.db.engine import Ending
from django_jobs.db.postgresql import session
from django_jobs.models import Job, JobAttempt
from tests.testapp import jobs as defs

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def listener():
    params = connection.get_connection_params()
    conn = psycopg.connect(
        dbname=params.get("dbname") or connection.settings_dict["NAME"],
        user=params.get("user"),
        host=params.get("host"),
        port=params.get("port"),
        autocommit=True,
    )
    conn.execute("LISTEN django_jobs")
    yield conn
    conn.close()


def received(conn):
    return sorted(n.payload for n in conn.notifies(timeout=0.3))


def test_notify__one_per_queue_per_transaction(listener):
    with transaction.atomic():
        for _ in range(5):
            defs.add.enqueue(1, 1)
        defs.send_email.enqueue("a@x")
        defs.add.enqueue_many([[1, 1], [2, 2]])
    assert received(listener) == ["default", "mail"]


def test_notify__statements_sent_once_per_queue(listener):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        for _ in range(5):
            defs.add.enqueue(1, 1)
    assert sum("pg_notify" in q["sql"] for q in captured.captured_queries) == 1


def test_notify__each_autocommit_enqueue_notifies(listener):
    defs.add.enqueue(1, 1)
    defs.add.enqueue(1, 1)
    assert received(listener) == ["default", "default"]


def test_notify__none_after_rollback(listener):
    with pytest.raises(RuntimeError), transaction.atomic():
        defs.add.enqueue(1, 1)
        raise RuntimeError("abort")
    assert received(listener) == []


def test_notify__sent_again_after_a_rolled_back_savepoint(listener):
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            defs.add.enqueue(1, 1)
            raise RuntimeError("inner")
        defs.add.enqueue(1, 1)
    assert received(listener) == ["default"]


def test_notify__delivered_at_commit_not_before(listener):
    with transaction.atomic():
        defs.add.enqueue(1, 1)
        assert received(listener) == []
    assert received(listener) == ["default"]


def test_notify__scheduled_jobs_do_not_wake_workers(listener):
    defs.add.using(delay=3600).enqueue(1, 1)
    assert received(listener) == []


def index_definitions():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'django_jobs_job'"
        )
        return dict(cursor.fetchall())


def test_indexes__claim_index_is_partial_on_queued():
    definition = index_definitions()["dj_job_claim"]
    assert "(queue, priority DESC, run_at, id)" in definition
    assert "WHERE ((state)::text = 'queued'::text)" in definition


def test_indexes__active_key_unique_partial():
    definition = index_definitions()["dj_job_active_key"]
    assert definition.startswith("CREATE UNIQUE INDEX")
    assert "key IS NOT NULL" in definition and "'running'" in definition


def test_indexes__heartbeat_and_progress_in_no_index():
    for name, definition in index_definitions().items():
        columns_part = definition.split(" USING ")[1].split(" WHERE ")[0]
        for hot in ("heartbeat_at", "progress", "lease_expires_at", "meta"):
            assert hot not in columns_part, f"{name} indexes {hot}"


def test_storage__autovacuum_parameters_set():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'django_jobs_job'")
        options = cursor.fetchone()[0]
    assert "autovacuum_vacuum_scale_factor=0.01" in options
    assert "fillfactor=85" in options


def test_notify__autocommit_enqueue_is_one_statement_with_its_notify(listener):
    from django.test.utils import CaptureQueriesContext

    defs.add.enqueue(1, 1)  # the queue's first use also creates its Queue row
    received(listener)
    with CaptureQueriesContext(connection) as captured:
        defs.add.enqueue(2, 2)
    (statement,) = [q["sql"] for q in captured.captured_queries]
    assert "INSERT" in statement and "pg_notify" in statement
    assert received(listener) == ["default"]


def test_notify__keyed_enqueue_notifies_only_when_it_inserts(listener):
    defs.add.enqueue(1, 1)
    received(listener)
    defs.add.using(key="k").enqueue(1, 1)
    assert received(listener) == ["default"]
    defs.add.using(key="k").enqueue(2, 2)  # the key is taken: nothing inserted
    assert received(listener) == []


def test_notify__keyed_enqueues_in_a_transaction_notify_once(listener):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        defs.add.using(key="k").enqueue(1, 1)  # conflicting: it does not count
        defs.add.using(key="k").enqueue(1, 1)
        defs.add.using(key="k2").enqueue(1, 1)
        defs.add.enqueue_many([[1, 1], [2, 2]], keys=["k3", "k4"])
    assert sum("pg_notify" in q["sql"] for q in captured.captured_queries) == 1
    assert received(listener) == ["default"]


def test_notify__conflicting_first_enqueue_leaves_the_queue_to_the_next(listener):
    defs.add.using(key="k").enqueue(1, 1)
    received(listener)
    with transaction.atomic():
        defs.add.using(key="k").enqueue(1, 1)  # nothing inserted, nothing notified
        defs.add.enqueue(2, 2)
    assert received(listener) == ["default"]


def test_notify__off_sends_nothing(listener, settings):
    settings.DJANGO_JOBS_USE_LISTEN_NOTIFY = False
    defs.add.enqueue(1, 1)
    defs.add.using(key="k").enqueue(1, 1)
    assert received(listener) == []


@pytest.fixture
def prepared_statements():
    """The project turned psycopg's prepared statements on (OPTIONS["prepare_threshold"])."""
    connection.ensure_connection()
    raw = connection.connection
    saved, raw.prepare_threshold = raw.prepare_threshold, 0
    yield
    raw.prepare_threshold = saved
    connection.close()  # its prepared statements go with it


def prepared_inserts():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall() if "django_jobs_job" in row[0]]


def prepared_statements_of_ours():
    """Every prepared statement of the connection that is not an enqueue INSERT."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [
            row[0] for row in cursor.fetchall() if 'INSERT INTO "django_jobs_job"' not in row[0]
        ]


def test_prepared__not_used_when_the_setting_is_off(settings):
    settings.DJANGO_JOBS_PREPARED_STATEMENTS = False
    defs.add.enqueue(1, 1)
    defs.add.enqueue(2, 2)
    defs.add.enqueue_many([[3, 3], [4, 4]])
    assert prepared_inserts() == []


def test_prepared__enqueue_prepared_by_default(listener):
    """DJANGO_JOBS_PREPARED_STATEMENTS on, Django's prepare_threshold=None: the INSERT is
    prepared on its first execution, and nothing else of the connection is."""
    from django.test.utils import CaptureQueriesContext

    from django_jobs.models import Job

    defs.add.enqueue(0, 0)  # the queue's first use, with its Queue row: not prepared
    connection.close()  # a new connection: no prepared statement yet
    assert prepared_inserts() == []
    assert connection.connection.prepare_threshold is None
    with CaptureQueriesContext(connection) as captured:
        one = defs.add.enqueue(1, 1)
    [logged] = captured.captured_queries  # still seen by Django's query log
    assert "INSERT" in logged["sql"] and "pg_notify" in logged["sql"]
    [insert] = prepared_inserts()
    assert 'INSERT INTO "django_jobs_job"' in insert and "pg_notify" in insert
    two = defs.add.enqueue(2, 2)  # the same statement, run prepared
    many = defs.add.enqueue_many([[3, 3], [4, 4]])
    assert len(prepared_inserts()) == 2  # one per statement shape
    assert Job.objects.filter(pk__in=[one.pk, two.pk]).count() == 2
    assert prepared_statements_of_ours() == []  # the ORM's queries are not prepared
    assert connection.connection.prepare_threshold is None
    assert sorted(Job.objects.values_list("args", flat=True)) == [
        [0, 0],
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
    ]
    assert Job.objects.filter(pk__in=[j.pk for j in many]).count() == 2
    assert received(listener) == ["default"] * 4


def test_prepared__enqueue_in_atomic_commits_and_rolls_back_with_it(listener):
    from django_jobs.models import Job

    committed = []
    with transaction.atomic():
        kept = defs.add.enqueue(1, 1)
        transaction.on_commit(lambda: committed.append(True))
        assert received(listener) == []  # NOTIFY leaves at COMMIT
    assert committed == [True] and received(listener) == ["default"]
    with pytest.raises(RuntimeError), transaction.atomic():
        defs.add.enqueue(2, 2)
        defs.add.enqueue_many([[3, 3], [4, 4]])
        raise RuntimeError
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint
            defs.add.enqueue(5, 5)
            raise RuntimeError
        after = defs.add.enqueue(6, 6)  # prepared again after the rollback
    assert set(Job.objects.values_list("pk", flat=True)) == {kept.pk, after.pk}
    assert received(listener) == ["default"]
    assert prepared_inserts()


def test_prepared__enqueue_prepared_when_the_project_allows_it(prepared_statements, listener):
    from django.test.utils import CaptureQueriesContext

    defs.add.enqueue(1, 1)
    with CaptureQueriesContext(connection) as captured:
        jobs = [defs.add.enqueue(i, i) for i in range(3)]
        defs.add.using(key="k").enqueue(9, 9)
    assert len(captured.captured_queries) == 4  # still seen by Django's query log
    assert len(prepared_inserts()) == 2  # one per statement shape
    from django_jobs.models import Job

    assert sorted(
        Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("args", flat=True)
    ) == [
        [0, 0],
        [1, 1],
        [2, 2],
    ]
    assert received(listener) == ["default"] * 5
    assert set(Job.objects.values_list("state", flat=True)) == {"queued"}


def plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def test_ends__generic_plan_reads_the_batch_once():
    """The batched ends statement, prepared with a generic plan as a worker runs it, joins
    the batch to the jobs without looping over the batch once per job."""
    jobs = defs.add.enqueue_many([[i, i] for i in range(50)])
    claimed = session_claim(len(jobs))
    now = timezone.now()
    released = {"claim_token": None, "lease_expires_at": None, "cancel_requested_at": None}
    fields = {
        "state": "succeeded",
        "result": None,
        "started_at": now,
        "finished_at": now,
        "expires_at": now + timedelta(days=1),
        "last_error": "",
        **released,
    }
    rows = [session._end_row(Ending(job, fields, now, "succeeded")) for job in claimed]
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            with transaction.atomic():
                cursor.execute(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + session.ends_sql(),
                    {"rows": json.dumps(rows), "worker": "w/1"},
                )
                (((plan,),),) = [cursor.fetchall()]
                transaction.set_rollback(True)
        finally:
            cursor.execute("RESET plan_cache_mode")
    scans = [n for n in plan_nodes(plan[0]["Plan"]) if n["Node Type"] == "Function Scan"]
    assert [(n["Actual Rows"], n["Actual Loops"]) for n in scans] == [(50, 1)], plan
    assert Job.objects.filter(state="running").count() == 50  # rolled back


def session_claim(limit):
    ops = db.for_connection(connection)
    return ops.claim_jobs(connection, queues=None, limit=limit, worker="w/1", now=timezone.now())


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"state": "running"}, "not a state an attempt ends in: 'running'"),
        ({"state": "succeeded", "finished_at": None}, "not an end the batched statement"),
        ({"state": "queued", "run_at": None}, "not an end the batched statement"),
        ({"state": "queued", "priority": 1}, "not an end the batched statement"),
    ],
    ids=["state", "finished-without-expires", "run-at-without-worker", "other-column"],
)
def test_ends__a_shape_the_statement_cannot_write_is_refused(fields, error):
    defs.add.enqueue(1, 1)
    (job,) = session_claim(1)
    now = timezone.now()
    base = {"started_at": now, "last_error": ""}
    with pytest.raises(ValueError, match=error):
        session.record_ends(connection, [Ending(job, {**base, **fields}, now, "failed")], "w/1")
    job.refresh_from_db()
    assert job.state == "running" and not JobAttempt.objects.exists()


def test_wakeups__a_process_wakes_for_an_enqueue_the_supervisor_only_for_a_cancel():
    """The supervisor's waiter sleeps through enqueues, which wake the processes; a request
    to cancel a running job wakes it."""
    from django_jobs.worker.loop import LoopOptions
    from django_jobs.worker.supervisor import Supervisor
    from django_jobs.worker.wakeup import Waiter

    process, supervisor = Waiter("default"), Supervisor(LoopOptions(), concurrency=1).waiter
    try:
        for waiter in (process, supervisor):
            waiter.wait(0.01, jitter=False)  # opens its LISTEN connection
        defs.add.enqueue(1, 1)
        assert process.wait(5) is True
        assert supervisor.wait(0.3) is False
        (job,) = session_claim(1)
        assert job.cancel() is False  # asked: its worker interrupts it
        assert supervisor.wait(5) is True
        assert process.wait(5) is True  # a process may look too; it is harmless
    finally:
        process.close()
        supervisor.close()
