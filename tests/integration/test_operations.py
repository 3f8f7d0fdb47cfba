"""Operator state changes (django_jobs.operations) and the model methods that call them."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from django_jobs.exceptions import UnknownJob
from django_jobs.models import DeadLetter, Job, JobAttempt, Queue, Schedule
from django_jobs.operations import purge_dead_letters, resubmit_dead_letters
from django_jobs.states import State
from django_jobs.worker.recurring import sync_schedules
from tests.browser import support

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedules() -> dict[str, Schedule]:
    return {s.name: s for s in sync_schedules()}


def test_resubmit_dead_letter__new_job_with_the_same_arguments():
    letter = support.dead_letter("again")
    job = letter.resubmit()
    assert job.state == State.QUEUED and job.args == ["again"]
    assert job.resubmitted_from == letter.job_id and job.max_attempts == 3
    stored = DeadLetter.objects.get(pk=letter.pk)
    assert stored.resubmitted_job_id == job.pk and stored.resubmitted_at is not None


def test_resubmit_dead_letter__only_once():
    letter = support.dead_letter()
    assert letter.resubmit() is not None
    assert DeadLetter.objects.get(pk=letter.pk).resubmit() is None
    assert Job.objects.filter(resubmitted_from=letter.job_id).count() == 1


def test_resubmit_dead_letter__keep_retry_count_gives_what_was_left():
    letter = support.dead_letter()
    assert letter.resubmit(reset_retry_count=False).max_attempts == 1


def test_resubmit_dead_letter__unknown_definition_changes_nothing(clean_registry):
    letter = support.dead_letter()
    clean_registry.unregister(letter.name)
    with pytest.raises(UnknownJob):
        letter.resubmit()
    assert DeadLetter.objects.get(pk=letter.pk).resubmitted_at is None


def test_resubmit_dead_letters__oldest_first_up_to_the_limit():
    letters = [support.dead_letter(str(i)) for i in range(3)]
    done, skipped = resubmit_dead_letters(letters[0].name, limit=2)
    assert (done, skipped) == (2, {})
    pending = DeadLetter.objects.filter(resubmitted_at__isnull=True)
    assert list(pending.values_list("pk", flat=True)) == [letters[2].pk]


def test_resubmit_dead_letters__unknown_definition_is_skipped(clean_registry):
    letter = support.dead_letter()
    clean_registry.unregister(letter.name)
    done, skipped = resubmit_dead_letters(letter.name, limit=10)
    assert (done, skipped) == (0, {"no worker knows this definition": 1})


def test_purge_dead_letters__deletes_the_jobs_and_their_attempts():
    letter = support.dead_letter()
    kept = support.dead_letter()
    assert purge_dead_letters(DeadLetter.objects.filter(pk=letter.pk)) == 1
    assert not Job.objects.filter(pk=letter.job_id).exists()
    assert not JobAttempt.objects.filter(job_id=letter.job_id).exists()
    assert DeadLetter.objects.filter(pk=kept.pk).exists()


def test_queue_pause__pauses_once():
    queue = Queue.objects.create(name="reports")
    assert queue.pause() is True
    assert queue.pause() is False
    assert Queue.objects.get(pk=queue.pk).paused is True


def test_queue_resume__resumes_a_paused_queue():
    queue = Queue.objects.create(name="reports", paused=True)
    assert queue.resume() is True
    assert Queue.objects.get(pk=queue.pk).paused is False


def test_queue_resume__not_paused_is_false():
    assert Queue.objects.create(name="reports").resume() is False


def test_schedule_disable__then_enable(schedules):
    schedule = schedules["tests.testapp.jobs.daily_digest"]
    assert schedule.disable() is True and schedule.disable() is False
    assert Schedule.objects.get(pk=schedule.pk).enabled is False
    assert schedule.enable() is True
    assert Schedule.objects.get(pk=schedule.pk).enabled is True


def test_schedule_reenable__clears_the_skip_and_the_failures(schedules):
    schedule = schedules["tests.testapp.jobs.PurgeSessions"]
    Schedule.objects.filter(pk=schedule.pk).update(
        skipped_at=timezone.now(), consecutive_failures=3
    )
    schedule.refresh_from_db()
    assert schedule.reenable() is True
    stored = Schedule.objects.get(pk=schedule.pk)
    assert (stored.skipped_at, stored.consecutive_failures) == (None, 0)


def test_schedule_reenable__not_skipped_is_false(schedules):
    assert schedules["tests.testapp.jobs.daily_digest"].reenable() is False


def test_schedule_run_now__enqueues_a_run_outside_the_schedule(schedules):
    schedule = schedules["tests.testapp.jobs.daily_digest"]
    job = schedule.run_now()
    assert (job.name, job.state, job.scheduled_for) == (schedule.name, State.QUEUED, None)
    assert Schedule.objects.get(pk=schedule.pk).runs == 0


def test_schedule_run_now__unknown_definition(schedules, clean_registry):
    schedule = schedules["tests.testapp.jobs.daily_digest"]
    clean_registry.unregister(schedule.name)
    with pytest.raises(UnknownJob):
        schedule.run_now()


def test_schedule_next_runs__cron_ticks(schedules):
    runs = schedules["tests.testapp.jobs.daily_digest"].next_runs(5)
    assert len(runs) == 5 and runs == sorted(runs)
    assert all(r.astimezone(timezone.get_fixed_timezone(0)).weekday() < 5 for r in runs)


def test_schedule_next_runs__interval_steps(schedules):
    runs = schedules["tests.testapp.jobs.every_ten_minutes"].next_runs(3)
    assert [b - a for a, b in pairwise(runs)] == [timedelta(minutes=10)] * 2


def test_schedule_next_runs__recurring_class_knows_only_the_stored_one(schedules):
    schedule = schedules["tests.testapp.jobs.PurgeSessions"]
    assert schedule.next_runs(5) == [schedule.next_run_at]


def test_schedule_next_runs__stops_at_max_runs(schedules):
    schedule = schedules["tests.testapp.jobs.every_ten_minutes"]
    schedule.max_runs, schedule.runs = 3, 1
    assert len(schedule.next_runs(5)) == 2


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, "active"),
        ({"enabled": False}, "disabled"),
        ({"skipped_at": timezone.now()}, "skipped"),
        ({"max_runs": 1, "runs": 1}, "finished"),
    ],
)
def test_schedule_status__one_word(fields, status):
    assert Schedule(name="x", **fields).status == status


def test_worker_running_jobs__a_supervisor_has_its_processes_jobs():
    supervisor = support.worker("host:1")
    child = support.worker("host:1/1", supervisor=supervisor)
    job = support.running_job(worker=child.pk)
    support.running_job(worker="host:10/1")
    assert list(supervisor.running_jobs()) == [job]
    assert list(child.running_jobs()) == [job]
