"""Non-durable recurring runs: a due tick taken once and run in place, with no Job row; the
outcome booked on the Schedule row."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone

import pytest

from django_jobs import Cron, RecurringJob, job
from django_jobs.context import current_job, heartbeat
from django_jobs.models import Job, JobAttempt, Schedule
from django_jobs.worker import recurring

pytestmark = pytest.mark.django_db(transaction=True)
UTC = timezone.utc
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def non_durable(definition):
    """``durable=False`` on a definition registered in the test.

    Set on the registered ``Definition`` by hand: the option itself (``@job(durable=False)``,
    ``RecurringJob.durable``) and its checks are tested with the definitions. The definition
    belongs to the test (``clean_registry`` drops it), so nothing needs restoring.
    """
    definition.durable = False
    return definition


def row(name: str) -> Schedule:
    return Schedule.objects.get(name=name)


@pytest.fixture
def ticks(clean_registry):
    """A non-durable interval definition (every minute) that notes each tick it runs for."""
    seen: list[datetime] = []

    @job(name="nd.ticks", interval=60)
    def note_tick() -> None:
        seen.append(current_job.get().scheduled_for)

    non_durable(note_tick)
    return seen


def test_nondurable__due_tick_runs_once_and_writes_no_job_row(ticks):
    recurring.sync_schedules(NOW)
    assert recurring.enqueue_due(NOW) >= 1
    assert ticks == [NOW]
    assert not Job.objects.filter(name="nd.ticks").exists()
    assert not JobAttempt.objects.filter(job__name="nd.ticks").exists()
    schedule = row("nd.ticks")
    assert (schedule.runs, schedule.last_run_at, schedule.last_outcome) == (1, NOW, "succeeded")
    assert schedule.next_run_at == NOW + timedelta(minutes=1)
    assert schedule.last_duration_seconds is not None
    assert schedule.last_duration_seconds >= 0
    recurring.enqueue_due(NOW + timedelta(seconds=30))  # the next tick is not due yet
    assert ticks == [NOW]


def test_nondurable__next_tick_runs_on_its_turn(ticks):
    recurring.sync_schedules(NOW)
    recurring.enqueue_due(NOW)
    recurring.enqueue_due(NOW + timedelta(minutes=1))
    assert ticks == [NOW, NOW + timedelta(minutes=1)]
    assert row("nd.ticks").runs == 2


def test_nondurable__a_worker_that_read_the_schedule_late_runs_nothing(ticks):
    recurring.sync_schedules(NOW)
    stale = row("nd.ticks")
    recurring.enqueue_due(NOW)
    definition = recurring.recurring_definitions()["nd.ticks"]
    assert recurring._fire(stale, definition, NOW, "default") == 0
    assert ticks == [NOW]


def test_nondurable__sync_marks_the_row_and_keeps_its_next_run(ticks, clean_registry):
    recurring.sync_schedules(NOW)
    assert row("nd.ticks").durable is False
    clean_registry.find("nd.ticks").durable = True
    recurring.sync_schedules(NOW + timedelta(minutes=5))
    schedule = row("nd.ticks")
    assert schedule.durable is True
    assert schedule.next_run_at == NOW  # how runs are run changed, not when


def test_nondurable__catch_up_ticks_collapse_into_one_run(clean_registry):
    seen = []

    @job(name="nd.catch_up", cron=Cron("* * * * *", misfire="all"))
    def catch_up() -> None:
        seen.append(current_job.get().scheduled_for)

    non_durable(catch_up)
    recurring.sync_schedules(NOW)
    recurring.enqueue_due(NOW + timedelta(minutes=10, seconds=30))
    assert seen == [NOW + timedelta(minutes=10)]  # the newest missed tick only
    schedule = row("nd.catch_up")
    assert schedule.runs == 1
    assert schedule.next_run_at == NOW + timedelta(minutes=11)


def test_nondurable__failure_booked_then_reset_by_a_success(clean_registry):
    fail = [True]

    @job(name="nd.flaky", interval=60)
    def flaky() -> None:
        if fail[0]:
            raise RuntimeError("the upstream is down")

    non_durable(flaky)
    recurring.sync_schedules(NOW)
    recurring.enqueue_due(NOW)
    schedule = row("nd.flaky")
    assert (schedule.last_outcome, schedule.consecutive_failures, schedule.failures) == (
        "failed",
        1,
        1,
    )
    assert schedule.last_error == "builtins.RuntimeError: the upstream is down"
    recurring.enqueue_due(NOW + timedelta(minutes=1))
    assert row("nd.flaky").consecutive_failures == 2
    fail[0] = False
    recurring.enqueue_due(NOW + timedelta(minutes=2))
    schedule = row("nd.flaky")
    assert (schedule.last_outcome, schedule.last_error) == ("succeeded", "")
    assert (schedule.consecutive_failures, schedule.failures, schedule.runs) == (0, 2, 3)
    assert not Job.objects.filter(name="nd.flaky").exists()


def test_nondurable__skipped_after_max_failures(clean_registry):
    runs = []

    @job(name="nd.broken", cron=Cron("* * * * *", max_failures=2))
    def broken() -> None:
        runs.append(1)
        raise ValueError("bad data")

    non_durable(broken)
    recurring.sync_schedules(NOW)
    first = row("nd.broken").next_run_at
    recurring.enqueue_due(first)
    assert row("nd.broken").skipped_at is None
    recurring.enqueue_due(first + timedelta(minutes=1))
    schedule = row("nd.broken")
    assert schedule.skipped_at is not None
    assert (schedule.consecutive_failures, schedule.status) == (2, "skipped")
    recurring.enqueue_due(first + timedelta(minutes=5))
    assert len(runs) == 2  # skipped: no third run


def test_nondurable__soft_timeout_is_its_outcome(clean_registry):
    @job(name="nd.slow", interval=60, timeout=0.2)
    def slow() -> None:
        time.sleep(5)

    non_durable(slow)
    recurring.sync_schedules(NOW)
    began = time.monotonic()
    recurring.enqueue_due(NOW)
    assert time.monotonic() - began < 3
    schedule = row("nd.slow")
    assert (schedule.last_outcome, schedule.consecutive_failures) == ("timeout", 1)
    assert "exceeded its timeout" in schedule.last_error


def test_nondurable__a_failing_run_does_not_stop_the_other_schedules(clean_registry):
    ran = []

    @job(name="nd.a_fails", interval=60)
    def fails() -> None:
        raise SystemExit(2)

    @job(name="nd.b_works", interval=60)
    def works() -> None:
        ran.append("b")

    non_durable(fails), non_durable(works)
    recurring.sync_schedules(NOW)
    assert recurring.enqueue_due(NOW) >= 3  # both, and the durable test schedules due now
    assert ran == ["b"]
    assert row("nd.a_fails").last_outcome == "failed"
    assert row("nd.b_works").last_outcome == "succeeded"
    # A durable schedule due at the same moment is enqueued as ever.
    assert Job.objects.filter(name="tests.testapp.jobs.every_ten_minutes").count() == 1


def test_nondurable__async_definition_runs(clean_registry):
    seen = []

    @job(name="nd.async", interval=60)
    async def async_tick() -> int:
        await asyncio.sleep(0)
        seen.append(current_job.get().scheduled_for)
        return 1

    non_durable(async_tick)
    recurring.sync_schedules(NOW)
    recurring.enqueue_due(NOW)
    assert seen == [NOW]
    assert row("nd.async").last_outcome == "succeeded"
    assert not Job.objects.filter(name="nd.async").exists()


def test_nondurable__heartbeat_in_the_run_writes_nothing(clean_registry):
    @job(name="nd.beats", interval=60)
    def beats() -> None:
        heartbeat(progress=0.5, meta={"step": "half"})

    non_durable(beats)
    support_job = Job.objects.create(name="unrelated", queue="default", state="running")
    recurring.sync_schedules(NOW)
    recurring.enqueue_due(NOW)
    assert row("nd.beats").last_outcome == "succeeded"
    support_job.refresh_from_db()
    assert support_job.progress is None
    assert not Job.objects.filter(name="nd.beats").exists()


def test_nondurable__log_events(clean_registry, caplog):
    @job(name="nd.logged_ok", interval=60)
    def ok() -> None:
        pass

    @job(name="nd.logged_bad", interval=60)
    def bad() -> None:
        raise KeyError("missing")

    non_durable(ok), non_durable(bad)
    recurring.sync_schedules(NOW)
    with caplog.at_level(logging.INFO, logger="django_jobs"):
        recurring.enqueue_due(NOW)
    events = {r.jobs["schedule"]: r for r in caplog.records if r.event.startswith("schedule.run")}
    assert events["nd.logged_ok"].event == "schedule.run_succeeded"
    assert events["nd.logged_ok"].levelno == logging.INFO
    assert events["nd.logged_bad"].event == "schedule.run_failed"
    assert events["nd.logged_bad"].levelno == logging.ERROR
    assert events["nd.logged_bad"].jobs["outcome"] == "failed"
    assert events["nd.logged_bad"].jobs["error"] == "'missing'"


def test_nondurable__recurring_job_class_plans_its_next_run_when_it_ends(clean_registry):
    class NdPurge(RecurringJob):
        name = "nd.purge"
        interval = 60

        def run(self) -> None:
            pass

    non_durable(NdPurge.definition)
    start = datetime.now(UTC)
    recurring.sync_schedules(start)
    recurring.enqueue_due(start)
    schedule = row("nd.purge")
    assert schedule.last_outcome == "succeeded"
    waited = (schedule.next_run_at - start).total_seconds()
    assert 60 <= waited <= 62  # interval after the end of the run
    assert not Job.objects.filter(name="nd.purge").exists()


def test_nondurable__recurring_job_class_backs_off_after_a_failure(clean_registry):
    class NdBroken(RecurringJob):
        name = "nd.broken_class"
        interval = 60
        max_retries = 5

        def run(self) -> None:
            raise RuntimeError("nope")

    non_durable(NdBroken.definition)
    start = datetime.now(UTC)
    recurring.sync_schedules(start)
    recurring.enqueue_due(start)
    schedule = row("nd.broken_class")
    assert schedule.consecutive_failures == 1
    waited = (schedule.next_run_at - start).total_seconds()
    assert 2 <= waited <= 4  # min(2 ** 1, 300) after the end of the run
