"""Running jobs in-process (testing.run_jobs and inline mode): the same steps as the worker."""

import pytest
from django.test import override_settings

from django_jobs.exceptions import JobFailed, JobWaitTimeout
from django_jobs.models import DeadLetter, Job, JobAttempt
from django_jobs.testing import run_jobs
from tests.testapp import jobs as defs
from tests.testapp.models import Note

pytestmark = pytest.mark.django_db(transaction=True)


def test_run_jobs__success_stores_result_and_attempt():
    job = defs.add.enqueue(2, 3)
    assert run_jobs() == 1
    job.refresh_from_db()
    assert (job.state, job.result, job.attempts) == ("succeeded", 5, 1)
    assert job.finished_at is not None and job.expires_at is not None
    attempt = JobAttempt.objects.get(job=job)
    assert (attempt.number, attempt.outcome) == (1, "succeeded")
    assert job.run_duration is not None and job.total_duration is not None


def test_run_jobs__async_definition():
    job = defs.async_add.enqueue(2, 3)
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.result) == ("succeeded", 5)


def test_run_jobs__priority_then_age():
    low = defs.add.using(priority=-10).enqueue(1, 1)
    high = defs.add.using(priority=10).enqueue(1, 1)
    mid = defs.add.enqueue(1, 1)
    run_jobs()
    order = list(Job.objects.order_by("started_at").values_list("pk", flat=True))
    assert order == [high.pk, mid.pk, low.pk]


def test_run_jobs__retries_then_dead_letter_with_history():
    job = defs.always_fails.enqueue("kaput")
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("failed", 3)
    assert "RuntimeError: kaput" in job.last_error
    history = list(JobAttempt.objects.filter(job=job).values_list("number", "outcome"))
    assert history == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert "Traceback" in JobAttempt.objects.filter(job=job).first().traceback
    dead = DeadLetter.objects.get(job=job)
    assert dead.name == job.name and dead.reason == "kaput"
    assert job.expires_at is None  # dead letters are kept


def test_run_jobs__retry_on_limits_retries():
    retried = defs.fails_with.enqueue("connection")
    not_retried = defs.fails_with.enqueue("value")
    run_jobs()
    retried.refresh_from_db()
    not_retried.refresh_from_db()
    assert (retried.state, retried.attempts) == ("failed", 4)
    assert (not_retried.state, not_retried.attempts) == ("failed", 1)


def test_run_jobs__retry_waits_out_its_backoff():
    job = defs.slow_retry.enqueue()
    run_jobs()
    job.refresh_from_db()
    assert job.state == "scheduled"
    delay = (job.run_at - job.finished_at).total_seconds() if job.finished_at else None
    assert delay is None  # not finished: waiting for its retry
    assert 29 <= (job.run_at - JobAttempt.objects.get(job=job).finished_at).total_seconds() <= 31


def test_run_jobs__system_exit_fails_the_job_only():
    job = defs.calls_exit.enqueue()
    after = defs.add.enqueue(1, 1)
    run_jobs()
    job.refresh_from_db()
    after.refresh_from_db()
    assert job.state == "failed"
    assert "exit(3)" in job.last_error
    assert after.state == "succeeded"


def test_run_jobs__non_json_result_fails_with_clear_message():
    job = defs.returns_set.enqueue()
    run_jobs()
    job.refresh_from_db()
    assert job.state == "failed"
    assert "cannot be stored as JSON" in job.last_error


def test_run_jobs__soft_timeout_sync():
    job = defs.sleeps.enqueue(5)
    run_jobs()
    job.refresh_from_db()
    assert job.state == "failed"
    assert JobAttempt.objects.get(job=job).outcome == "timeout"
    assert "timeout" in job.last_error


def test_run_jobs__soft_timeout_async():
    job = defs.async_sleeps.enqueue(5)
    run_jobs()
    job.refresh_from_db()
    assert JobAttempt.objects.get(job=job).outcome == "timeout"


def test_run_jobs__unknown_definition_recorded():
    job = defs.add.enqueue(1, 1)
    Job.objects.filter(pk=job.pk).update(name="gone.away")
    run_jobs()
    job.refresh_from_db()
    assert job.state == "failed"
    assert "no worker process knows definition 'gone.away'" in job.last_error


def test_run_jobs__corrupt_arguments_recorded():
    job = defs.add.enqueue(1, 1)
    Job.objects.filter(pk=job.pk).update(args={"not": "a list"})
    run_jobs()
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.attempts == 1  # no retry can mend it
    assert "stored arguments are corrupt" in job.last_error


def test_run_jobs__atomic_failure_leaves_no_writes():
    job = defs.write_note_then_fail.enqueue("x", True)
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("failed", 2)
    assert not Note.objects.exists()


def test_run_jobs__atomic_success_keeps_writes():
    job = defs.write_note_then_fail.enqueue("kept", False)
    run_jobs()
    job.refresh_from_db()
    assert job.state == "succeeded"
    assert Note.objects.filter(text="kept").exists()


def test_run_jobs__late_write_is_fenced():
    from django_jobs.worker.execute import execute
    from django_jobs.worker.record import claim_one

    job = defs.add.enqueue(1, 1)
    assert claim_one(job, "w1")
    Job.objects.filter(pk=job.pk).update(claim_token=None, state="queued")  # rescued meanwhile
    execute(job, "w1")
    stored = Job.objects.get(pk=job.pk)
    assert stored.state == "queued"
    assert stored.result is None
    assert not JobAttempt.objects.filter(job=job).exists()


def test_run_jobs__scheduled_jobs_wait():
    from datetime import timedelta

    job = defs.add.using(delay=timedelta(hours=1)).enqueue(1, 1)
    assert run_jobs() == 0
    assert run_jobs(include_scheduled=True) == 1
    job.refresh_from_db()
    assert job.state == "succeeded"


def test_run_jobs__queues_and_max_jobs():
    defs.add.using(queue="a").enqueue(1, 1)
    defs.add.using(queue="b").enqueue(1, 1)
    defs.add.using(queue="b").enqueue(1, 1)
    assert run_jobs(queues=["a"]) == 1
    assert run_jobs(max_jobs=1) == 1
    assert run_jobs() == 1


def test_heartbeat__progress_and_meta_stored():
    job = defs.reports_progress.enqueue()
    run_jobs()
    job.refresh_from_db()
    assert job.progress == 0.5
    assert job.meta == {"step": "half"}


@override_settings(DJANGO_JOBS_INLINE=True)
def test_inline__enqueue_runs_at_once():
    job = defs.add.enqueue(4, 5)
    job.refresh_from_db()
    assert (job.state, job.result) == ("succeeded", 9)


@override_settings(DJANGO_JOBS_INLINE=True)
def test_inline__retries_run_at_once():
    job = defs.always_fails.enqueue()
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("failed", 3)


def test_wait__returns_result():
    job = defs.add.enqueue(1, 2)
    run_jobs()
    assert job.wait(timeout=5) == 3


def test_wait__raises_job_failed():
    job = defs.calls_exit.enqueue()
    run_jobs()
    with pytest.raises(JobFailed, match="ended failed") as info:
        job.wait(timeout=5)
    assert info.value.job.state == "failed"


def test_wait__times_out():
    job = defs.add.enqueue(1, 2)
    with pytest.raises(JobWaitTimeout, match="still queued"):
        job.wait(timeout=0.05)


def test_wait__sees_another_threads_progress():
    import threading

    job = defs.add.enqueue(1, 2)
    timer = threading.Timer(
        0.2, lambda: Job.objects.filter(pk=job.pk).update(state="succeeded", result=3)
    )
    timer.start()
    try:
        assert job.wait(timeout=10) == 3
    finally:
        timer.join()


def test_heartbeat__raises_when_cancelled_and_job_ends_cancelled():
    job = defs.cancels_itself.enqueue()
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.attempts, job.result) == ("cancelled", 1, None)
    assert JobAttempt.objects.get(job=job).outcome == "cancelled"


def test_heartbeat__outside_a_job_does_nothing():
    from django_jobs import heartbeat

    heartbeat(progress=0.3)


def test_heartbeat__bad_progress_refused():
    from django_jobs.context import current_job

    job = defs.add.enqueue(1, 1)
    token = current_job.set(job)
    try:
        with pytest.raises(ValueError, match="from 0 to 1"):
            from django_jobs import heartbeat

            heartbeat(progress=7)
    finally:
        current_job.reset(token)


def test_aheartbeat__from_an_async_job():
    job = defs.async_reports_progress.enqueue()
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.progress, job.meta) == ("succeeded", 0.25, {"step": "quarter"})


def test_run_jobs__newer_version_left_waiting():
    job = defs.add.enqueue(1, 1)
    Job.objects.filter(pk=job.pk).update(version=99)
    assert run_jobs() == 0
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("queued", 0)


def test_run_jobs__result_with_nul_character_fails_clearly():
    job = defs.returns_nul.enqueue()
    run_jobs()
    job.refresh_from_db()
    assert job.state == "failed"
    assert "NUL character" in job.last_error
