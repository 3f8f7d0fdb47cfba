"""Stopping runjobs at any moment of its start-up, and the hard stops the supervisor makes."""

import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from django_jobs.models import Job, JobAttempt, Worker
from tests.acceptance.conftest import wait_for
from tests.testapp import jobs as defs

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


def start_and_signal(workers, delay, *args):
    """Start a worker, send SIGTERM ``delay`` seconds after its banner; return the process,
    the time of the signal and the output so far."""
    process = workers.start("--concurrency", "3", *args, log=True)
    seen = []
    while not any(line.startswith("django_jobs worker") for line in seen):
        line = process.stdout.readline()
        assert line, "".join(seen)
        seen.append(line)
    time.sleep(delay)
    signalled_at = timezone.now()
    os.kill(process.pid, signal.SIGTERM)
    return process, signalled_at, "".join(seen)


def wait_exit(process, output, timeout):
    try:
        rest, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"runjobs did not stop within {timeout} s of SIGTERM:\n{output}")
    return process.returncode, output + rest


@pytest.mark.parametrize("delay", [0, 0.02, 0.1, 0.5])
def test_sigterm__during_start_up_stops_an_idle_worker_at_once(workers, delay):
    process, _, output = start_and_signal(workers, delay)
    began = time.monotonic()
    code, output = wait_exit(process, output, timeout=10)
    assert code == 0, output
    assert time.monotonic() - began < 10
    assert "worker.process_died" not in output, output
    assert "worker.stopped" in output, output
    assert set(Worker.objects.values_list("state", flat=True)) == {"stopped"}


@pytest.mark.parametrize("delay", [0, 0.05])
def test_sigterm__during_start_up_claims_nothing_after_stopping(workers, delay):
    defs.nap.enqueue_many([[0.2]] * 200)
    process, signalled_at, output = start_and_signal(workers, delay)
    code, output = wait_exit(process, output, timeout=10)
    assert code == 0, output
    late = Job.objects.filter(started_at__gt=signalled_at + timedelta(seconds=1))
    assert not late.exists(), output
    assert not Job.objects.filter(state="running").exists()


def test_hard_timeout__logged_as_a_hard_stop_not_a_process_death(workers):
    bad = defs.swallows_timeout.enqueue()
    after = defs.add.enqueue(1, 2)
    done = workers.run("--burst", "--concurrency", "1", timeout=60, log=True)
    assert done.returncode == 0, done.stderr
    assert JobAttempt.objects.get(job=bad).outcome == "timeout"
    assert Job.objects.get(pk=after.pk).state == "succeeded"
    assert "worker.process_died" not in done.stderr, done.stderr
    killed = [line for line in done.stderr.splitlines() if "worker.process_killed" in line]
    assert len(killed) == 1 and f"job={bad.pk}" in killed[0] and "outcome=timeout" in killed[0]
    assert "hard_stops=1" in done.stderr, done.stderr


def test_cancel__hard_stop_logged_as_a_hard_stop_not_a_process_death(workers, monkeypatch):
    monkeypatch.setenv("DJANGO_JOBS_CANCEL_GRACE", "1")
    job = defs.ignores_cancel.enqueue()
    process = workers.start("--concurrency", "1", log=True)
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "running", timeout=30)
    Job.objects.get(pk=job.pk).cancel()
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "cancelled", timeout=15)
    os.kill(process.pid, signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "worker.process_died" not in output, output
    killed = [line for line in output.splitlines() if "worker.process_killed" in line]
    assert len(killed) == 1 and "outcome=cancelled" in killed[0], output
    assert "hard_stops=1" in output, output
