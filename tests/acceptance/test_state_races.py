"""State changes racing a real worker (PostgreSQL, real ``runjobs`` processes).

Each test holds a ``Job`` object read before a worker moved the row, then acts on that stale
object: the change must be decided by the state the row is in, never by the one the object
remembers.
"""

import time
from datetime import timedelta

import pytest

from django_jobs import signals
from django_jobs.exceptions import DuplicateJob, InvalidTransition
from django_jobs.models import Job, JobAttempt
from tests.acceptance.conftest import wait_for
from tests.testapp import jobs as defs
from tests.testapp.models import Note

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


def state_of(job):
    return Job.objects.get(pk=job.pk).state


@pytest.fixture
def cancelled_signals():
    sent = []

    def receiver(sender, job, **kwargs):
        sent.append(job.pk)

    signals.job_cancelled.connect(receiver, weak=False)
    yield sent
    signals.job_cancelled.disconnect(receiver)


@pytest.mark.postgres_only
def test_cancel__stale_queued_object_of_a_claimed_job_interrupts_the_worker(workers):
    job = defs.heartbeats_forever.enqueue()
    stale = Job.objects.get(pk=job.pk)
    assert stale.state == "queued"
    workers.start("--concurrency", "1")
    wait_for(lambda: state_of(job) == "running", timeout=30)

    assert stale.cancel() is False  # running: asked to stop, not cancelled in place
    row = Job.objects.get(pk=job.pk)
    assert row.state == "running" and row.cancel_requested_at is not None
    wait_for(lambda: JobAttempt.objects.filter(job=job).exists(), timeout=15)
    assert list(JobAttempt.objects.filter(job=job).values_list("outcome", flat=True)) == [
        "cancelled"
    ]
    row = Job.objects.get(pk=job.pk)
    assert row.state == "cancelled" and row.claim_token is None
    assert row.result is None  # the body was interrupted, it did not run to its end


@pytest.mark.postgres_only
def test_run_now__stale_scheduled_object_of_a_claimed_job_changes_nothing(workers):
    job = defs.nap.using(delay=timedelta(seconds=1)).enqueue(1.5)
    stale = Job.objects.get(pk=job.pk)
    assert stale.state == "scheduled"
    workers.start("--concurrency", "1")
    wait_for(lambda: state_of(job) == "running", timeout=30)
    claimed = Job.objects.get(pk=job.pk)

    assert stale.run_now() is False
    row = Job.objects.get(pk=job.pk)
    assert row.state == "running" and row.claim_token == claimed.claim_token
    assert row.run_at == claimed.run_at
    wait_for(lambda: state_of(job) == "succeeded", timeout=30)
    assert list(JobAttempt.objects.filter(job=job).values_list("outcome", flat=True)) == [
        "succeeded"
    ]
    assert Job.objects.get(pk=job.pk).attempts == 1


@pytest.mark.postgres_only
def test_cancel__racing_a_completion_leaves_the_completion_recorded(workers, monkeypatch):
    monkeypatch.setenv("DJANGO_JOBS_CANCEL_GRACE", "30")  # the body ends before a hard stop
    slow = defs.nap.enqueue(1.0)  # claimed first (older): the worker is busy with it a moment
    job = defs.record_run.enqueue("raced")
    stale = Job.objects.get(pk=job.pk)
    stale_slow = Job.objects.get(pk=slow.pk)
    workers.start("--concurrency", "1")
    wait_for(lambda: state_of(slow) == "running", timeout=30)

    assert stale_slow.cancel() is False  # never heartbeats: finishes before the grace is up
    wait_for(lambda: Job.objects.get(pk=slow.pk).is_finished, timeout=30)
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=30)
    assert state_of(slow) == "succeeded"
    assert list(JobAttempt.objects.filter(job=slow).values_list("outcome", flat=True)) == [
        "succeeded"
    ]
    # The other stale object (read while queued) meets a finished row: a clear error, no write.
    assert state_of(job) == "succeeded"
    with pytest.raises(InvalidTransition):
        stale.cancel()
    assert state_of(job) == "succeeded"
    assert Note.objects.filter(text="raced").count() == 1


@pytest.mark.postgres_only
def test_replace__racing_claims_cancels_only_waiting_jobs_and_announces_them(
    workers, cancelled_signals
):
    workers.start("--concurrency", "2")
    replaced = []
    holder = defs.record_run.using(key="race").enqueue("first")
    for round_ in range(40):
        time.sleep((round_ % 4) * 0.05)  # now and then the worker claims the holder first
        try:
            newer = defs.record_run.using(key="race", on_conflict="replace").enqueue(f"r{round_}")
        except DuplicateJob:
            # the holder was claimed first: running, it cannot be replaced
            wait_for(lambda pk=holder.pk: Job.objects.get(pk=pk).is_finished, timeout=30)
            holder = defs.record_run.using(key="race").enqueue(f"again{round_}")
            continue
        if newer.pk != holder.pk:
            replaced.append(holder.pk)
        holder = newer
    wait_for(lambda: Job.objects.get(pk=holder.pk).is_finished, timeout=30)

    cancelled = Job.objects.filter(pk__in=replaced, state="cancelled")
    assert cancelled.exists(), "no enqueue ever replaced a waiting job"
    for row in Job.objects.filter(pk__in=replaced):
        ran = JobAttempt.objects.filter(job=row).exists()
        # A job either ran (it was claimed before the replace) or was cancelled, never both.
        assert (row.state == "cancelled") != ran, (row.pk, row.state, ran)
    assert sorted(cancelled_signals) == sorted(cancelled.values_list("pk", flat=True))
    assert Job.objects.filter(key="race", state__in=["queued", "scheduled", "running"]).count() == 0
    assert Note.objects.count() == JobAttempt.objects.count()  # each job that ran, ran once


def test_replace__cancelled_job_is_announced_and_expires_by_its_definition(
    cancelled_signals, monkeypatch
):
    ttl = timedelta(hours=3)
    assert defs.record_run.effective_result_ttl != ttl
    old = defs.record_run.using(key="ttl").enqueue("old")
    monkeypatch.setattr(defs.record_run, "result_ttl", ttl)
    defs.record_run.using(key="ttl", on_conflict="replace").enqueue("new")
    row = Job.objects.get(pk=old.pk)
    assert row.state == "cancelled"
    assert cancelled_signals == [old.pk]
    assert abs(row.expires_at - (row.finished_at + ttl)) < timedelta(seconds=1)
