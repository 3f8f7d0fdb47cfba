"""Cancelling running jobs, stalled jobs, rescue of a killed worker, database restarts."""

import os
import signal
import time

import pytest

from django_jobs.models import Job, JobAttempt, Worker
from tests.acceptance.conftest import restart_postgres, wait_for
from tests.testapp import jobs as defs

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


def start_running(workers, job, *args):
    process = workers.start("--concurrency", "1", *args)
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "running", timeout=30)
    return process


def stop(process):
    os.kill(process.pid, signal.SIGTERM)
    os.kill(process.pid, signal.SIGINT)
    assert process.wait(timeout=30) == 0


def test_cancel__sync_job_stops_at_its_next_heartbeat(workers):
    job = defs.heartbeats_forever.enqueue()
    process = start_running(workers, job)
    assert Job.objects.get(pk=job.pk).cancel() is False
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "cancelled", timeout=10)
    assert JobAttempt.objects.get(job=job).outcome == "cancelled"
    after = defs.add.enqueue(1, 2)
    wait_for(lambda: Job.objects.get(pk=after.pk).state == "succeeded", timeout=10)
    stop(process)


def test_cancel__async_job_stops_at_its_next_await(workers):
    job = defs.async_waits_forever.enqueue()
    process = start_running(workers, job)
    Job.objects.get(pk=job.pk).cancel()
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "cancelled", timeout=10)
    stop(process)


def test_cancel__job_that_never_heartbeats_is_stopped_hard(workers, monkeypatch):
    monkeypatch.setenv("DJANGO_JOBS_CANCEL_GRACE", "1")
    job = defs.ignores_cancel.enqueue()
    process = start_running(workers, job)
    Job.objects.get(pk=job.pk).cancel()
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "cancelled", timeout=15)
    attempt = JobAttempt.objects.get(job=job)
    assert "stopped hard" in attempt.error_message
    after = defs.add.enqueue(1, 2)  # a replacement process takes the next job
    wait_for(lambda: Job.objects.get(pk=after.pk).state == "succeeded", timeout=20)
    stop(process)


def test_stalled__silent_job_is_stopped_and_retried(workers):
    job = defs.goes_silent.enqueue()
    process = start_running(workers, job)
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "scheduled", timeout=15)
    attempt = JobAttempt.objects.get(job=job)
    assert attempt.outcome == "stalled"
    stop(process)


def test_rescue__killed_worker_jobs_come_back(workers, monkeypatch):
    monkeypatch.setenv("DJANGO_JOBS_WORKER_TIMEOUT", "2")
    monkeypatch.setenv("DJANGO_JOBS_HEARTBEAT_INTERVAL", "0.5")
    monkeypatch.setenv("DJANGO_JOBS_MAINTENANCE_INTERVAL", "0.5")
    job = defs.long_finish.enqueue(60)
    victim = start_running(workers, job)
    os.killpg(victim.pid, signal.SIGKILL)  # the whole worker, supervisor and processes
    victim.wait()
    killed_at = time.monotonic()
    rescuer = workers.start("--concurrency", "1")
    wait_for(lambda: JobAttempt.objects.filter(job=job, outcome="lost").exists(), timeout=30)
    print(f"rescued {time.monotonic() - killed_at:.1f} s after kill -9")
    wait_for(lambda: Job.objects.get(pk=job.pk).attempts == 2, timeout=30)
    assert Worker.objects.filter(state="dead").exists()
    stop(rescuer)


def test_late_write__from_a_rescued_worker_is_discarded():
    """Fencing: the outcome of an attempt whose job was taken away changes nothing."""
    from django_jobs.worker.execute import Result
    from django_jobs.worker.record import claim_one, finish

    job = defs.add.enqueue(1, 1)
    assert claim_one(job, "old-worker")
    Job.objects.filter(pk=job.pk).update(claim_token=None, state="queued")  # rescued
    assert finish(job, job.definition, Result("succeeded", value=2), "old-worker") is False
    assert Job.objects.get(pk=job.pk).state == "queued"


@pytest.mark.postgres_only
def test_database_restart__worker_survives_and_loses_nothing(workers):
    if not os.environ.get("DJANGO_JOBS_TEST_PG_RESTART"):
        pytest.skip("needs the throwaway cluster of runtests.py (DJANGO_JOBS_TEST_PG_RESTART)")
    first = defs.add.enqueue_many([[i, i] for i in range(20)])
    process = workers.start("--concurrency", "2")
    wait_for(lambda: Job.objects.filter(state="succeeded").count() == 20, timeout=30)
    assert restart_postgres()
    time.sleep(1)
    second = defs.add.enqueue_many([[i, i] for i in range(20)])
    ids = [j.pk for j in first + second]
    wait_for(lambda: Job.objects.filter(pk__in=ids, state="succeeded").count() == 40, timeout=90)
    assert process.poll() is None  # still running
    stop(process)
