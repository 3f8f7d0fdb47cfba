"""The engine contract, run against every engine of the test database: on SQLite the SQLite
engine and the generic engine, on PostgreSQL the PostgreSQL engine and the generic engine.

Each limit scenario asserts that the limit holds where the engine's capability says so, and
that it is reported (system check W006) or refused (``group_key`` at enqueue) where not.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from django_jobs import db
from django_jobs.checks import check_definition_limits, check_queue_limits
from django_jobs.db import generic
from django_jobs.enqueue import InvalidEnqueue
from django_jobs.limits import Limits
from django_jobs.models import Job, JobAttempt, Queue, Worker
from django_jobs.worker import maintenance
from django_jobs.worker.limits import LimitConfig
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db

OPERATIONS = (
    "insert_jobs",
    "claim_jobs",
    "lock_claims",
    "record_successes",
    "stage_due",
    "declare_dead",
    "notify",
    "listen",
    "worker_session",
)


@pytest.fixture(params=["native", "generic"])
def engine(request, monkeypatch):
    """The engine under test, made the jobs database's engine for enqueues and checks."""
    chosen = db.for_connection(connection) if request.param == "native" else generic.ENGINE
    monkeypatch.setattr(db, "for_connection", lambda _connection: chosen)
    return chosen


def claim(engine, worker="sup/1", queues=None, limit=1):
    config = LimitConfig(worker.rsplit("/", 1)[0] + "/%", "default")
    config.refresh()
    return engine.claim_jobs(
        connection,
        queues=queues,
        limit=limit,
        worker=worker,
        now=timezone.now(),
        limits=config.limits(set()),
    )


def w006(messages):
    return [m for m in messages if m.id == "django_jobs.W006"]


# --- the contract itself -------------------------------------------------------------------


def test_engine__offers_every_operation_and_its_capabilities(engine):
    assert isinstance(engine.capabilities, db.Capabilities)
    assert engine.name
    for operation in OPERATIONS:
        assert callable(getattr(engine, operation)), operation


def test_engine__enqueue_on_a_new_queue_creates_its_row(engine):
    job = defs.nap.using(queue="fresh").enqueue()
    assert Job.objects.filter(pk=job.pk, queue="fresh").exists()
    assert Queue.objects.filter(name="fresh").exists()


def test_engine__claim_then_record_a_success(engine):
    defs.nap.enqueue()
    (job,) = claim(engine, worker="w/1")
    assert job.state == "running" and job.claim_token is not None
    now = timezone.now()
    fields = {
        "result": None,
        "started_at": now,
        "finished_at": now,
        "expires_at": None,
        "last_error": "",
    }
    assert engine.record_successes(connection, [(job, fields)], "w/1") == {job.pk}
    assert Job.objects.get(pk=job.pk).state == "succeeded"
    assert JobAttempt.objects.filter(job_id=job.pk, outcome="succeeded").count() == 1
    assert engine.record_successes(connection, [(job, fields)], "w/1") == set()  # fenced


def test_engine__stage_due_and_declare_dead(engine):
    now = timezone.now()
    due = defs.nap.using(run_at=now + timedelta(seconds=30)).enqueue()
    assert engine.stage_due(connection, now) == 0
    assert engine.stage_due(connection, now + timedelta(minutes=1)) == 1
    assert Job.objects.get(pk=due.pk).state == "queued"
    Worker.objects.create(id="gone/1", hostname="h", pid=1, heartbeat_at=now - timedelta(hours=1))
    assert engine.declare_dead(connection, now - timedelta(minutes=1), now) == ["gone/1"]
    assert engine.declare_dead(connection, now - timedelta(minutes=1), now) == []


def test_engine__stage_due_through_maintenance(engine):
    job = defs.nap.using(delay=timedelta(minutes=5)).enqueue()
    Job.objects.filter(pk=job.pk).update(run_at=timezone.now() - timedelta(seconds=1))
    assert maintenance.stage_due() == 1


# --- limits every engine holds ---------------------------------------------------------------


def test_limit__paused_queue_gets_no_claims(engine):
    defs.nap.using(queue="slow").enqueue()
    Queue.objects.filter(name="slow").update(paused=True)
    assert claim(engine, limit=5) == []
    Queue.objects.filter(name="slow").update(paused=False)
    assert len(claim(engine, limit=5)) == 1


def test_limit__excluded_queue_is_skipped(engine):
    defs.nap.using(queue="out").enqueue()
    now = timezone.now()
    limits = Limits(excluded=["out"])
    claimed = engine.claim_jobs(
        connection, queues=None, limit=5, worker="w/1", now=now, limits=limits
    )
    assert claimed == []


# --- limits an engine holds, or reports --------------------------------------------------------


def test_limit__queue_max_concurrent(engine):
    defs.nap.using(queue="q1").enqueue_many([[0.1]] * 3)
    Queue.objects.filter(name="q1").update(max_concurrent=1)
    reported = w006(check_queue_limits(databases=["default"]))
    if engine.capabilities.queue_max_concurrent:
        assert reported == []
        assert len(claim(engine, worker="a/1")) == 1
        assert claim(engine, worker="a/2") == []  # same worker (process tree)
        assert len(claim(engine, worker="b/1")) == 1  # another worker has its own allowance
    else:
        (message,) = reported
        assert "q1" in message.msg and engine.name in message.msg
        assert message.hint


def test_limit__definition_max_running(engine):
    defs.capped_cluster.enqueue_many([[0.1]] * 4)
    reported = w006(check_definition_limits())
    if engine.capabilities.definition_caps:
        assert reported == []
        assert len(claim(engine, worker="a/1")) == 1
        assert len(claim(engine, worker="b/1")) == 1
        assert claim(engine, worker="c/1") == []
    else:
        (message,) = reported
        assert defs.capped_cluster.name in message.msg and message.hint


def test_limit__definition_max_concurrent(engine):
    defs.capped_per_worker.enqueue_many([[0.1]] * 3)
    reported = w006(check_definition_limits())
    if engine.capabilities.definition_caps:
        assert reported == []
        assert len(claim(engine, worker="a/1")) == 1
        assert claim(engine, worker="a/2") == []
        assert len(claim(engine, worker="b/1")) == 1
    else:
        (message,) = reported
        assert defs.capped_per_worker.name in message.msg


def test_limit__group_key(engine):
    if not engine.capabilities.group_keys:
        with pytest.raises(InvalidEnqueue, match="group_key"):
            defs.nap.using(group_key="g1").enqueue()
        assert not Job.objects.exists()
        return
    defs.nap.using(group_key="g1").enqueue_many([[0.1]] * 2)
    defs.nap.using(group_key="g2").enqueue()
    claimed = [j for _ in range(4) for j in claim(engine, worker="a/1")]
    assert sorted(j.group_key for j in claimed) == ["g1", "g2"]  # g1's second job waits


def test_limit__queue_check_quiet_without_queue_limits(engine):
    defs.nap.using(queue="plain").enqueue()
    assert w006(check_queue_limits(databases=["default"])) == []
