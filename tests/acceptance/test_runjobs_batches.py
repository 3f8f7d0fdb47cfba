"""runjobs claiming batches: what a killed process held goes back, a cancel reaches a job that
waits its turn in a batch, and every job still runs exactly once."""

import pytest

from django_jobs.conf import jobs_settings
from django_jobs.models import Job, JobAttempt
from tests.acceptance.conftest import wait_for
from tests.testapp import jobs as defs
from tests.testapp.models import Note

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


def test_runjobs__a_hard_timeout_inside_a_batch_puts_the_rest_back(workers, monkeypatch):
    # The batches are pinned, not left to the pace: left to it, a loaded machine claims
    # these jobs one at a time (or ends a batch with the bad one), and then nothing is
    # claimed with it. With a claim window of an hour, the first claim takes a0 (no pace
    # yet) and the second 1 + PREFETCH jobs: a1..a29, the bad one, and ``behind`` b-jobs.
    monkeypatch.setenv("DJANGO_JOBS_TEST_BATCH_SECONDS", "3600")
    before = defs.record_run.using(priority=5).enqueue_many([[f"a{i}"] for i in range(30)])
    bad = defs.swallows_timeout.using(priority=4).enqueue()
    after = defs.record_run.using(priority=3).enqueue_many([[f"b{i}"] for i in range(30)])
    behind = 1 + jobs_settings.PREFETCH - len(before)
    assert 0 < behind < len(after)
    done = workers.run("--burst", "--concurrency", "1", timeout=90, log=True)
    assert done.returncode == 0, done.stdout
    assert JobAttempt.objects.get(job=bad).outcome == "timeout"
    # The jobs claimed with the one that was stopped hard were put back, not failed: each
    # ran once, with one attempt (max_retries=0 would have failed them otherwise).
    for job in Job.objects.filter(pk__in=[j.pk for j in before + after]):
        assert (job.state, job.attempts) == ("succeeded", 1), job.last_error
    assert Note.objects.count() == 60
    assert JobAttempt.objects.filter(job__in=before + after).count() == 60
    assert f"worker.jobs_returned worker={bad_worker(done.stderr)} jobs={behind}\n" in done.stderr


def bad_worker(log: str) -> str:
    """The process that was killed (``worker.process_killed``), from the worker's log."""
    (line,) = [line for line in log.splitlines() if line.startswith("worker.process_killed ")]
    return line.split("worker=", 1)[1].split(" ", 1)[0]


def test_runjobs__cancel_reaches_a_job_waiting_in_the_batch(workers):
    warm = defs.record_run.using(priority=9).enqueue_many([[f"w{i}"] for i in range(30)])
    nap = defs.nap.using(priority=5).enqueue(3.0)
    target = defs.record_run.using(priority=1).enqueue("target")
    process = workers.start("--concurrency", "1")
    # Cancel while the nap runs: the target waits behind it, claimed in the same batch
    # (running) or, when the batch ended with the nap, still queued. Either way it never runs.
    wait_for(lambda: Note.objects.filter(text__startswith="w").count() == 30, timeout=30)
    wait_for(lambda: Job.objects.get(pk=nap.pk).state == "running", timeout=30)
    claimed = Job.objects.get(pk=target.pk).state == "running"
    assert Job.objects.get(pk=target.pk).cancel() is not claimed
    wait_for(lambda: Job.objects.get(pk=target.pk).state == "cancelled", timeout=30)
    wait_for(lambda: Job.objects.get(pk=nap.pk).state == "succeeded", timeout=30)
    assert not Note.objects.filter(text="target").exists()
    if claimed:
        (attempt,) = JobAttempt.objects.filter(job=target)
        assert (attempt.outcome, attempt.error_message) == (
            "cancelled",
            "cancelled before it started",
        )
    assert Job.objects.filter(pk__in=[j.pk for j in warm], state="succeeded").count() == 30
    assert process.poll() is None
