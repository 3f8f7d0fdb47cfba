"""The MySQL / MariaDB engine's own parts: the claim lock, limits inside one batch, and the
schema migration 0003 adds there (keys and schedule ticks unique, the claim index)."""

import threading

import pytest
from django.db import IntegrityError, OperationalError, connection, connections, transaction
from django.utils import timezone

from django_jobs import db
from django_jobs.limits import Limits
from django_jobs.models import Job
from django_jobs.worker.limits import definition_caps
from tests.testapp import jobs as defs

pytestmark = pytest.mark.skipif(connection.vendor != "mysql", reason="needs MySQL/MariaDB")


def claim(limit, enforce=True):
    names, running, per_worker = definition_caps()
    limits = Limits(
        tree="a/%", enforce=enforce, cap_names=names, cap_running=running, cap_per_worker=per_worker
    )
    return db.for_connection(connection).claim_jobs(
        connection, queues=None, limit=limit, worker="a/1", now=timezone.now(), limits=limits
    )


@pytest.mark.django_db
def test_mysql__the_engine_of_the_connection():
    assert db.for_connection(connection).name == "mysql"


@pytest.mark.django_db
def test_mysql__a_batch_counts_its_own_claims_against_the_limits():
    defs.nap.using(group_key="g1").enqueue_many([[0.1]] * 3)
    defs.nap.using(group_key="g2").enqueue()
    defs.capped_cluster.enqueue_many([[0.1]] * 4)  # max_running=2
    defs.capped_per_worker.enqueue_many([[0.1]] * 3)  # max_concurrent=1
    claimed = claim(limit=50)
    assert sorted(j.group_key for j in claimed if j.group_key) == ["g1", "g2"]
    assert sum(j.name == defs.capped_cluster.name for j in claimed) == 2
    assert sum(j.name == defs.capped_per_worker.name for j in claimed) == 1
    assert claim(limit=50) == []  # and the next claim sees the running ones


@pytest.mark.django_db(transaction=True)
def test_mysql__lock_claims_holds_until_the_transaction_ends():
    engine = db.for_connection(connection)
    locked, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                engine.lock_claims(connection)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
        with pytest.raises(OperationalError), transaction.atomic():
            engine.lock_claims(connection)  # waits for the holder's transaction
    finally:
        release.set()
        thread.join(15)
    with transaction.atomic():
        engine.lock_claims(connection)  # the holder committed: free again


@pytest.mark.django_db
def test_mysql__an_active_key_is_unique():
    first = defs.nap.using(key="k1").enqueue()
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.create(name=first.name, queue="default", key="k1")
    Job.objects.filter(pk=first.pk).update(state="succeeded")
    Job.objects.create(name=first.name, queue="default", key="k1")  # no longer active


@pytest.mark.django_db
def test_mysql__a_schedule_tick_is_unique():
    tick = timezone.now()
    Job.objects.create(name="n", queue="default", scheduled_for=tick)
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.create(name="n", queue="default", scheduled_for=tick)
    Job.objects.create(name="n", queue="default")  # no tick: never clashes
    Job.objects.create(name="n", queue="default")


@pytest.mark.django_db
def test_mysql__lock_claims_puts_a_deleted_lock_row_back():
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_jobs_claim_lock")
        with transaction.atomic():
            db.for_connection(connection).lock_claims(connection)
        cursor.execute("SELECT id FROM django_jobs_claim_lock")
        assert cursor.fetchall() == ((1,),)
