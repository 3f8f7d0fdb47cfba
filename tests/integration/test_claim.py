"""The claim statement: order, limit, queues, claim tokens, no double claims, index use."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_jobs import db
from django_jobs.db import generic
from django_jobs.models import Job
from tests.testapp import jobs as defs


def claim(queues=None, limit=10, worker="w1"):
    ops = db.for_connection(connection)
    return ops.claim_jobs(connection, queues=queues, limit=limit, worker=worker, now=timezone.now())


@pytest.mark.django_db
def test_claim__priority_then_run_at_then_id():
    low = defs.add.using(priority=-1).enqueue(1, 1)
    first = defs.add.enqueue(1, 1)
    second = defs.add.enqueue(1, 1)
    high = defs.add.using(priority=9).enqueue(1, 1)
    assert [j.pk for j in claim()] == [high.pk, first.pk, second.pk, low.pk]


def seed_queues(rows):
    """Queued jobs from ``(queue, priority, seconds ago)``, in that order: their ids."""
    now = timezone.now()
    jobs = [
        Job(name="x", queue=q, priority=p, run_at=now - timedelta(seconds=ago))
        for q, p, ago in rows
    ]
    Job.objects.bulk_create(jobs)
    return [job.pk for job in jobs]


@pytest.mark.django_db
@pytest.mark.parametrize("queues", [None, ["c", "a", "b"]], ids=["every", "several"])
@pytest.mark.parametrize("ops", ["native", "generic"])
def test_claim__order_across_several_queues(queues, ops):
    # In claim order: priority first whatever the queue, then run_at across the queues.
    ids = seed_queues(
        [
            *[("b", 5, 50), ("c", 5, 40), ("a", 5, 30)],
            *[("a", 0, 60), ("c", 0, 55), ("a", 0, 20), ("b", 0, 10)],
            *[("c", -3, 90), ("b", -3, 80), ("a", -3, 70)],
        ]
    )
    module = db.for_connection(connection) if ops == "native" else generic.ENGINE
    claimed = []
    while batch := module.claim_jobs(
        connection, queues=queues, limit=3, worker="w", now=timezone.now()
    ):
        claimed.extend(j.pk for j in batch)
    assert claimed == ids


@pytest.mark.django_db
def test_claim__serves_only_the_listed_queues_in_order():
    ids = seed_queues([("a", 1, 10), ("b", 9, 10), ("c", 1, 20), ("a", 0, 30)])
    assert [j.pk for j in claim(queues=["a", "c"], limit=2)] == [ids[2], ids[0]]
    assert [j.pk for j in claim(queues=["a", "c"])] == [ids[3]]


@pytest.mark.django_db
def test_claim__a_queue_listed_twice_is_walked_once():
    ids = seed_queues([("a", 0, 30), ("a", 0, 20)])
    assert [j.pk for j in claim(queues=["a", "a"], limit=2)] == ids


@pytest.mark.django_db
def test_claim__many_queues():
    # More queues than SQLite accepts members in one compound SELECT (500); later n, later run_at.
    ids = seed_queues([(f"q{n:03}", n % 7, 1000 - n) for n in range(520)])
    in_order = sorted(range(520), key=lambda n: (-(n % 7), n))
    assert [j.pk for j in claim(limit=600)] == [ids[n] for n in in_order]
    assert claim(queues=[f"q{n:03}" for n in range(520)]) == []


@pytest.mark.django_db
def test_claim__writes_state_worker_token_attempt():
    job = defs.add.enqueue(1, 1)
    (claimed,) = claim(worker="w7")
    stored = Job.objects.get(pk=job.pk)
    assert (stored.state, stored.worker, stored.attempts) == ("running", "w7", 1)
    assert stored.claim_token is not None and stored.claim_token == claimed.claim_token
    assert stored.started_at is not None
    assert claimed.args == [1, 1]


@pytest.mark.django_db
def test_claim__limit_and_queues():
    for _ in range(3):
        defs.add.using(queue="a").enqueue(1, 1)
    defs.add.using(queue="b").enqueue(1, 1)
    assert len(claim(queues=["a"], limit=2)) == 2
    assert [j.queue for j in claim(queues=["b", "c"])] == ["b"]
    assert len(claim(queues=[])) == 0
    assert len(claim()) == 1


@pytest.mark.django_db
def test_claim__skips_scheduled_running_and_finished():
    defs.add.using(delay=3600).enqueue(1, 1)
    done = defs.add.enqueue(1, 1)
    Job.objects.filter(pk=done.pk).update(state="succeeded")
    assert claim() == []


@pytest.mark.django_db
def test_claim__distinct_tokens():
    defs.add.enqueue_many([[1, 1]] * 5)
    tokens = {j.claim_token for j in claim()}
    assert len(tokens) == 5


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_claim__concurrent_claimers_never_share_a_job():
    defs.add.enqueue_many([[i, i] for i in range(400)])
    seen: list[list] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            mine = []
            while batch := claim(limit=7, worker=f"w{n}"):
                mine.extend(j.pk for j in batch)
            seen.append(mine)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    every = [pk for mine in seen for pk in mine]
    assert len(every) == len(set(every)) == 400


def explain(sql: str) -> list[tuple]:
    """The plan of ``sql`` (an executed statement with its parameters inlined)."""
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        return cursor.fetchall()


def explain_postgresql_claim(queues: list[str] | None) -> None:
    """PostgreSQL: the claim (run on its own psycopg cursor, so not captured by Django) is
    explained with its parameters; each served queue is walked through dj_job_claim."""
    from django_jobs.db.postgresql import claim_sql

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_jobs_job")
        params = {
            "worker": "w",
            "now": timezone.now(),
            "queues": queues or [],
            "excluded": [],
            "tree": "%",
            "cap_names": [],
            "cap_running": [],
            "cap_per_worker": [],
        }
        cursor.execute("EXPLAIN " + claim_sql(every_queue=queues is None), params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "dj_job_claim" in plan, plan
    assert "Seq Scan on django_jobs_job" not in plan, plan


def explain_mysql_claim(executed: list[dict], queues: list[str] | None) -> None:
    """MySQL / MariaDB: each served queue is one locking read of dj_job_claim in claim
    order (no sort), so that it locks only the rows it returns."""
    walks = [q["sql"] for q in executed if "SKIP LOCKED" in q["sql"]]
    assert len(walks) == (1 if queues == ["default"] else 3), walks
    with connection.cursor() as cursor:
        for walk in walks:
            cursor.execute("EXPLAIN " + walk)
            columns = [c[0] for c in cursor.description]
            (row,) = [dict(zip(columns, r)) for r in cursor.fetchall()]
            assert row["key"] == "dj_job_claim", row
            assert "filesort" not in (row["Extra"] or ""), row


@pytest.mark.django_db
@pytest.mark.parametrize(
    "queues", [None, ["default"], ["a", "b", "default"]], ids=["every", "one", "several"]
)
def test_claim__explain_walks_the_claim_index_in_order(queues):
    Job.objects.bulk_create(
        [Job(name="x", queue="default", state="succeeded") for _ in range(5000)]
        + [Job(name="x", queue=q) for q in ("a", "b", "default") for _ in range(20)]
    )
    if connection.vendor == "postgresql":
        explain_postgresql_claim(queues)
        return
    with CaptureQueriesContext(connection) as executed:
        assert len(claim(queues=queues)) == 10
    if connection.vendor == "mysql":
        explain_mysql_claim(executed.captured_queries, queues)
        return
    (statement,) = [q["sql"] for q in executed.captured_queries if "UPDATE" in q["sql"]]
    plan = explain(statement)
    # SQLite: (id, parent, _, detail). Each served queue is one search of dj_job_claim, and
    # no select that reads the index sorts its rows: only the outer merge of the walks sorts.
    reads = [row for row in plan if row[3].split()[:2] in (["SEARCH", "c"], ["SCAN", "c"])]
    walks = 1 if queues == ["default"] else 3
    assert [row[3] for row in reads] == ["SEARCH c USING INDEX dj_job_claim (queue=?)"] * walks, (
        plan
    )
    sorting = {row[1] for row in plan if "TEMP B-TREE" in row[3]}
    assert not sorting & {row[1] for row in reads}, plan


@pytest.mark.django_db
def test_claim__every_queue_includes_queues_without_a_queue_row():
    job = defs.add.using(queue="orphan").enqueue(1, 1)
    from django_jobs.models import Queue

    Queue.objects.filter(name="orphan").delete()  # as if rows were inserted by other means
    assert [j.pk for j in claim()] == [job.pk]


@pytest.mark.django_db
def test_claim__enqueue_many_rows_are_claimed_in_the_order_given():
    jobs = defs.add.enqueue_many([[i, i] for i in range(30)])
    assert [j.pk for j in claim(limit=30)] == [j.pk for j in jobs]


CLAIMED_FIELDS = [f.attname for f in Job._meta.concrete_fields]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, kwargs",
    [([], {}), ([1, 2], {}), ([], {"a": [1, {"b": None}], "é": "ü"}), ([1.5, True], {"n": 0})],
)
def test_claim__claimed_jobs_equal_what_the_orm_reads(args, kwargs):
    meta = {"traceparent": "00-x", "n": [1]} if kwargs else {}
    enqueued = Job.objects.create(name="x", args=args, kwargs=kwargs, meta=meta)
    (claimed,) = claim()
    read = Job.objects.get(pk=enqueued.pk)
    assert {n: getattr(claimed, n) for n in CLAIMED_FIELDS} == {
        n: getattr(read, n) for n in CLAIMED_FIELDS
    }
    assert claimed._state.adding is False and claimed._state.db == read._state.db
    claimed.refresh_from_db()  # a usable instance: the ORM can read and save it
    claimed.save(update_fields=["progress"])


@pytest.mark.django_db
def test_claim__init_signal_receivers_for_job_are_called():
    from django.db.models.signals import post_init

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    defs.add.enqueue(1, 1)
    post_init.connect(receiver, sender=Job)
    try:
        (claimed,) = claim()
    finally:
        post_init.disconnect(receiver, sender=Job)
    assert seen == [claimed.pk]


@pytest.mark.django_db
def test_claim__empty_arguments_are_not_shared_between_claimed_jobs():
    Job.objects.create(name="x")
    Job.objects.create(name="x")
    first, second = claim()
    assert first.args == second.args == [] and first.kwargs == second.kwargs == {}
    first.args.append(1)
    first.kwargs["a"] = 1
    assert second.args == [] and second.kwargs == {}
