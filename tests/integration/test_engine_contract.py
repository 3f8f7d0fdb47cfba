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
from django_jobs.db.engine import Ending
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
    "record_ends",
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
        "state": "succeeded",
        "result": None,
        "started_at": now,
        "finished_at": now,
        "expires_at": None,
        "last_error": "",
    }
    end = Ending(job, fields, now, "succeeded")
    assert engine.record_ends(connection, [end], "w/1") == {job.pk}
    assert Job.objects.get(pk=job.pk).state == "succeeded"
    assert JobAttempt.objects.filter(job_id=job.pk, outcome="succeeded").count() == 1
    assert engine.record_ends(connection, [end], "w/1") == set()  # fenced


def test_engine__record_ends_of_every_kind_in_one_call(engine):
    """A success, a retry later, a retry now that gives an attempt back, a failure and a
    cancel: each row gets its own columns, the others keep theirs, one attempt row each."""
    jobs = defs.nap.enqueue_many([[]] * 5)
    Job.objects.filter(pk__in=[j.pk for j in jobs]).update(result={"old": 1})
    claimed = {j.pk: j for j in claim(engine, worker="w/1", limit=5)}
    done, later, now_, failed, cancelled = (claimed[j.pk] for j in jobs)
    now = timezone.now()
    soon = now + timedelta(seconds=30)
    ttl = now + timedelta(days=1)
    released = {"claim_token": None, "lease_expires_at": None, "cancel_requested_at": None}
    again = {"started_at": now, "worker": None, **released}
    ends = [
        Ending(
            done,
            {
                "state": "succeeded",
                "result": [1, "a"],
                "started_at": now,
                "finished_at": now,
                "expires_at": ttl,
                "last_error": "",
                **released,
            },
            now,
            "succeeded",
        ),
        Ending(
            later,
            {"state": "scheduled", "run_at": soon, "last_error": "E: one", **again},
            now,
            "failed",
            "E",
            "one",
            "Traceback: one",
        ),
        Ending(
            now_,
            {"state": "queued", "run_at": now, "last_error": "stopped", "max_attempts": 9, **again},
            now,
            "interrupted",
            "",
            "stopped",
        ),
        Ending(
            failed,
            {
                "state": "failed",
                "started_at": now,
                "finished_at": now,
                "expires_at": None,
                "last_error": "E: two",
                **released,
            },
            now,
            "failed",
            "E",
            "two",
        ),
        Ending(
            cancelled,
            {
                "state": "cancelled",
                "started_at": now,
                "finished_at": now,
                "expires_at": ttl,
                "last_error": "cancelled",
                **released,
            },
            now,
            "cancelled",
        ),
    ]
    assert engine.record_ends(connection, ends, "w/1") == set(claimed)
    rows = {j.pk: j for j in Job.objects.filter(pk__in=claimed)}
    assert (rows[done.pk].state, rows[done.pk].result, rows[done.pk].expires_at) == (
        "succeeded",
        [1, "a"],
        ttl,
    )
    assert rows[done.pk].finished_at == now
    later_row = rows[later.pk]
    assert (later_row.state, later_row.run_at, later_row.worker) == ("scheduled", soon, None)
    assert (later_row.result, later_row.finished_at, later_row.last_error) == (
        {"old": 1},
        None,
        "E: one",
    )
    assert (rows[now_.pk].state, rows[now_.pk].max_attempts) == ("queued", 9)
    assert rows[later.pk].max_attempts == later.max_attempts
    assert (rows[failed.pk].state, rows[failed.pk].expires_at) == ("failed", None)
    assert rows[failed.pk].result == {"old": 1} and rows[failed.pk].worker == "w/1"
    assert (rows[cancelled.pk].state, rows[cancelled.pk].expires_at) == ("cancelled", ttl)
    assert {row.claim_token for row in rows.values()} == {None}
    attempts = {a.job_id: a for a in JobAttempt.objects.filter(job_id__in=claimed)}
    assert len(attempts) == 5
    assert (attempts[later.pk].outcome, attempts[later.pk].error_type) == ("failed", "E")
    assert (attempts[later.pk].error_message, attempts[later.pk].traceback) == (
        "one",
        "Traceback: one",
    )
    assert attempts[now_.pk].outcome == "interrupted"
    assert (attempts[done.pk].error_type, attempts[done.pk].traceback) == ("", "")
    assert {a.finished_at for a in attempts.values()} == {now}
    assert {a.number for a in attempts.values()} == {1}
    assert engine.record_ends(connection, ends, "w/1") == set()  # all fenced


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
