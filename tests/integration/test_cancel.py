import pytest

from django_jobs.exceptions import InvalidTransition
from django_jobs.models import Job
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db


def test_cancel__queued_at_once():
    job = defs.add.enqueue(1, 1)
    assert job.cancel() is True
    job.refresh_from_db()
    assert job.state == "cancelled" and job.finished_at is not None


def test_cancel__running_is_requested():
    job = defs.add.enqueue(1, 1)
    Job.objects.filter(pk=job.pk).update(state="running")
    job.refresh_from_db()
    assert job.cancel() is False
    job.refresh_from_db()
    assert job.state == "running" and job.cancel_requested_at is not None


@pytest.mark.parametrize("state", ["succeeded", "failed", "cancelled"])
def test_cancel__finished_job_clear_error(state):
    job = defs.add.enqueue(1, 1)
    Job.objects.filter(pk=job.pk).update(state=state)
    job.refresh_from_db()
    with pytest.raises(InvalidTransition, match=f"already {state}"):
        job.cancel()


def test_cancel__stale_in_memory_state_is_rechecked():
    job = defs.add.enqueue(1, 1)
    Job.objects.filter(pk=job.pk).update(state="succeeded")
    with pytest.raises(InvalidTransition):
        job.cancel()  # job.state says queued, the row says succeeded


def test_cancel__cancelled_job_expires_like_a_finished_one():
    job = defs.add.enqueue(1, 1)
    job.cancel()
    job.refresh_from_db()
    assert job.expires_at is not None and job.expires_at > job.finished_at


def test_cancel__replaced_job_expires():
    first = defs.add.using(key="k").enqueue(1, 1)
    defs.add.using(key="k", on_conflict="replace").enqueue(2, 2)
    first.refresh_from_db()
    assert first.state == "cancelled" and first.expires_at is not None


def test_resubmit__copies_a_failed_job():
    job = defs.send_email.using(queue="bulk", priority=3, meta={"a": 1}).enqueue("x@y")
    Job.objects.filter(pk=job.pk).update(state="failed", attempts=4)
    job.refresh_from_db()
    copy = job.resubmit()
    assert copy.pk != job.pk and copy.resubmitted_from == job.pk
    assert (copy.state, copy.queue, copy.priority, copy.args, copy.meta) == (
        "queued",
        "bulk",
        3,
        ["x@y"],
        {"a": 1},
    )
    assert copy.max_attempts == job.max_attempts


def test_resubmit__without_reset_keeps_the_remaining_attempts():
    job = defs.add.enqueue(1, 1)  # 4 attempts
    Job.objects.filter(pk=job.pk).update(state="failed", attempts=3)
    job.refresh_from_db()
    assert job.resubmit(reset_retry_count=False).max_attempts == 1


def test_resubmit__refused_while_active():
    job = defs.add.enqueue(1, 1)
    with pytest.raises(InvalidTransition, match="only a finished job can be resubmitted"):
        job.resubmit()


def test_run_now__scheduled_becomes_queued():
    job = defs.add.using(delay=3600).enqueue(1, 1)
    assert job.run_now() is True
    job.refresh_from_db()
    assert job.state == "queued"
    assert job.run_now() is False
