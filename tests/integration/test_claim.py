"""The claim statement: order, limit, queues, claim tokens, no double claims, index use."""

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from django_jobs import db
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


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_claim__explain_uses_the_claim_index():
    from django_jobs.db.postgresql import claim_sql

    Job.objects.bulk_create(
        [Job(name="x", queue="default", state="succeeded") for _ in range(5000)]
        + [Job(name="x", queue="default") for _ in range(20)]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_jobs_job")
        params = {
            "limit": 10,
            "worker": "w",
            "now": timezone.now(),
            "queues": ["default"],
            "excluded": [],
            "tree": "%",
            "cap_names": [],
            "cap_running": [],
            "cap_per_worker": [],
        }
        for every_queue in (False, True):
            cursor.execute("EXPLAIN " + claim_sql(every_queue=every_queue), params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "dj_job_claim" in plan, plan
            assert "Seq Scan on django_jobs_job" not in plan, plan


@pytest.mark.django_db
def test_claim__every_queue_includes_queues_without_a_queue_row():
    job = defs.add.using(queue="orphan").enqueue(1, 1)
    from django_jobs.models import Queue

    Queue.objects.filter(name="orphan").delete()  # as if rows were inserted by other means
    assert [j.pk for j in claim()] == [job.pk]
