"""runjobs as a real process: burst drains, timeouts, SystemExit, SIGTERM policies."""

import os
import signal

import pytest

from django_jobs.models import Job, JobAttempt, Worker
from tests.acceptance.conftest import wait_for
from tests.testapp import jobs as defs
from tests.testapp.models import Note

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


def test_runjobs__burst_drains_and_exits_zero(workers):
    jobs = defs.record_run.enqueue_many([[f"t{i}"] for i in range(40)])
    done = workers.run("--burst", "--concurrency", "2")
    assert done.returncode == 0, done.stdout
    assert "concurrency: 2" in done.stdout and "queues: every queue" in done.stdout
    assert Job.objects.filter(pk__in=[j.pk for j in jobs], state="succeeded").count() == 40
    assert Note.objects.count() == 40
    assert set(Worker.objects.values_list("state", flat=True)) == {"stopped"}


def test_runjobs__hard_timeout_for_a_job_that_swallows_it(workers):
    bad = defs.swallows_timeout.enqueue()
    after = defs.add.enqueue(1, 2)
    done = workers.run("--burst", "--concurrency", "1", timeout=60)
    assert done.returncode == 0, done.stdout
    bad.refresh_from_db()
    after.refresh_from_db()
    assert bad.state == "failed"
    assert JobAttempt.objects.get(job=bad).outcome == "timeout"
    assert after.state == "succeeded"


def test_runjobs__hard_timeout_for_a_job_stuck_in_c(workers):
    bad = defs.stuck_in_c.enqueue()
    after = defs.add.enqueue(1, 2)
    done = workers.run("--burst", "--concurrency", "1", timeout=60)
    assert done.returncode == 0, done.stdout
    bad.refresh_from_db()
    after.refresh_from_db()
    assert (bad.state, after.state) == ("failed", "succeeded")
    assert "stopped hard" in bad.last_error


def test_runjobs__system_exit_in_a_job(workers):
    bad = defs.calls_exit.enqueue()
    after = defs.add.enqueue(1, 2)
    done = workers.run("--burst", "--concurrency", "1")
    assert done.returncode == 0
    bad.refresh_from_db()
    after.refresh_from_db()
    assert (bad.state, after.state) == ("failed", "succeeded")


def _start_and_wait_running(workers, job):
    process = workers.start("--concurrency", "1")
    # Its code has started (it reports progress 0): a SIGTERM before that puts it back.
    wait_for(lambda: Job.objects.filter(pk=job.pk, state="running", progress=0.0).exists())
    return process


def test_sigterm__finish_lets_the_job_end(workers):
    job = defs.long_finish.enqueue(1.5)
    process = _start_and_wait_running(workers, job)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    job.refresh_from_db()
    assert (job.state, job.result) == ("succeeded", "finished")


def test_sigterm__requeue_puts_it_back_without_using_a_retry(workers):
    job = defs.long_requeue.enqueue()
    before = Job.objects.get(pk=job.pk).max_attempts
    process = _start_and_wait_running(workers, job)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    job.refresh_from_db()
    assert job.state == "queued"
    assert job.max_attempts == before + 1
    assert JobAttempt.objects.get(job=job).outcome == "interrupted"


def test_sigterm__stop_fails_the_job(workers):
    job = defs.long_stop.enqueue()
    process = _start_and_wait_running(workers, job)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    job.refresh_from_db()
    assert job.state == "failed"
    assert JobAttempt.objects.get(job=job).outcome == "interrupted"


def test_sigterm__second_signal_stops_at_once_requeueing(workers):
    job = defs.long_finish.enqueue(60)
    process = _start_and_wait_running(workers, job)
    os.kill(process.pid, signal.SIGTERM)
    os.kill(process.pid, signal.SIGINT)
    assert process.wait(timeout=20) == 0
    job.refresh_from_db()
    assert job.state == "queued"
