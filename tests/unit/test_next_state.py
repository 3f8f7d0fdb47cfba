"""``record.next_state``: the pure decision of what an attempt's end does to its job.

Success, cancel, requeue without using a retry, retry (at once or after a backoff), failure,
dead letter; no database, no clock read.
"""

from datetime import datetime, timedelta, timezone

import pytest

from django_jobs.models import Outcome
from django_jobs.models.job import Job
from django_jobs.registry import Definition
from django_jobs.retry import Backoff
from django_jobs.worker.record import next_state
from django_jobs.worker.result import Result

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
RELEASED = {"claim_token": None, "lease_expires_at": None, "cancel_requested_at": None}


def definition(**options):
    return Definition(name="d", version=1, func=lambda: None, **options)


def job(attempts=1, max_attempts=3):
    return Job(name="d", state="running", attempts=attempts, max_attempts=max_attempts)


def failed(outcome=Outcome.FAILED, retryable=True, **kwargs):
    return Result(outcome, error_type="RuntimeError", message="boom", retryable=retryable, **kwargs)


def test_next_state__success_finishes_with_the_definitions_ttl():
    fields, event = next_state(
        job(), definition(result_ttl=timedelta(hours=2)), Result(Outcome.SUCCEEDED, value=7), NOW
    )
    assert event == "job.succeeded"
    assert fields == {
        "state": "succeeded",
        "result": 7,
        "finished_at": NOW,
        "expires_at": NOW + timedelta(hours=2),
        "last_error": "",
        **RELEASED,
    }


def test_next_state__success_kept_forever_without_a_ttl():
    fields, _ = next_state(job(), definition(result_ttl=None), Result(Outcome.SUCCEEDED), NOW)
    assert fields["expires_at"] is None


def test_next_state__cancelled_finishes_whatever_attempts_are_left():
    fields, event = next_state(
        job(attempts=1), definition(max_retries=5), failed(Outcome.CANCELLED, False), NOW
    )
    assert event == "job.cancelled"
    assert fields["state"] == "cancelled" and fields["last_error"] == "cancelled"
    assert fields["finished_at"] == NOW


def test_next_state__interrupted_requeues_without_using_a_retry():
    fields, event = next_state(
        job(attempts=3, max_attempts=3), definition(), failed(Outcome.INTERRUPTED, False), NOW
    )
    assert event == "job.requeued"
    assert fields["state"] == "queued" and fields["run_at"] == NOW
    assert fields["max_attempts"] == 4 and fields["worker"] is None


def test_next_state__interrupted_final_fails():
    fields, event = next_state(
        job(attempts=3, max_attempts=3),
        definition(),
        failed(Outcome.INTERRUPTED, False, final=True),
        NOW,
    )
    assert (fields["state"], event) == ("failed", "job.failed")


def test_next_state__lost_is_retried_at_once_while_attempts_are_left():
    fields, event = next_state(job(attempts=1), None, failed(Outcome.LOST, True), NOW)
    assert (fields["state"], fields["run_at"], event) == ("queued", NOW, "job.retried")


def test_next_state__lost_on_the_last_attempt_fails():
    fields, event = next_state(job(attempts=3), definition(), failed(Outcome.LOST, True), NOW)
    assert (fields["state"], event) == ("failed", "job.failed")


def test_next_state__retry_waits_out_its_backoff():
    spec = definition(retry_delay=10, backoff=Backoff.LINEAR, max_retry_delay=3600)
    fields, event = next_state(job(attempts=2), spec, failed(), NOW)
    assert event == "job.retried"
    assert fields["state"] == "scheduled" and fields["run_at"] == NOW + timedelta(seconds=20)
    assert fields["last_error"] == "RuntimeError: boom"
    assert fields["worker"] is None and fields["claim_token"] is None


def test_next_state__retry_without_delay_is_queued_at_once():
    fields, _ = next_state(job(attempts=1), definition(retry_delay=None), failed(), NOW)
    assert (fields["state"], fields["run_at"]) == ("queued", NOW)


def test_next_state__not_retryable_fails_at_once():
    fields, event = next_state(job(attempts=1), definition(), failed(retryable=False), NOW)
    assert (fields["state"], event) == ("failed", "job.failed")


def test_next_state__unknown_definition_is_not_retried():
    fields, _ = next_state(job(attempts=1), None, failed(), NOW)
    assert fields["state"] == "failed"


def test_next_state__last_attempt_fails_and_expires_by_the_ttl():
    spec = definition(result_ttl=timedelta(days=1))
    fields, event = next_state(job(attempts=3), spec, failed(), NOW)
    assert (fields["state"], event) == ("failed", "job.failed")
    assert fields["expires_at"] == NOW + timedelta(days=1)
    assert fields["finished_at"] == NOW and fields["claim_token"] is None


def test_next_state__dead_letter_keeps_the_failed_job():
    spec = definition(result_ttl=timedelta(days=1), dead_letter=True)
    fields, event = next_state(job(attempts=3), spec, failed(), NOW)
    assert (fields["state"], event) == ("failed", "job.failed")
    assert fields["expires_at"] is None


@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_next_state__every_choice_is_a_move_the_table_allows(attempts):
    from django_jobs import states

    for outcome in Outcome.values:
        result = Result(outcome, retryable=outcome != Outcome.INTERRUPTED)
        fields, _ = next_state(job(attempts=attempts), definition(), result, NOW)
        assert states.can_transition("running", fields["state"]), outcome
