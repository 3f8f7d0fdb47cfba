"""Recurring schedules: sync at start-up, due ticks enqueued once, bookkeeping after runs."""

from datetime import datetime, timedelta, timezone

import pytest

from django_jobs.models import Job, Schedule
from django_jobs.testing import run_jobs
from django_jobs.worker import recurring

pytestmark = pytest.mark.django_db(transaction=True)
UTC = timezone.utc
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday


def schedule(name):
    return Schedule.objects.get(name=f"tests.testapp.jobs.{name}")


def test_sync__one_row_per_recurring_definition():
    recurring.sync_schedules(NOW)
    names = set(Schedule.objects.values_list("name", flat=True))
    assert {
        "tests.testapp.jobs.daily_digest",
        "tests.testapp.jobs.every_ten_minutes",
        "tests.testapp.jobs.PurgeSessions",
        "tests.testapp.jobs.every_second",
    } <= names
    digest = schedule("daily_digest")
    assert (digest.kind, digest.cron, digest.timezone, digest.misfire) == (
        "cron",
        "0 18 * * 1-5",
        "Europe/Paris",
        "once",
    )
    assert digest.max_failures == 5
    assert digest.next_run_at == datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    assert schedule("every_ten_minutes").next_run_at == NOW
    assert schedule("PurgeSessions").max_failures == 3


def test_sync__keeps_the_next_run_of_an_unchanged_schedule():
    recurring.sync_schedules(NOW)
    recurring.sync_schedules(NOW + timedelta(hours=2))
    assert schedule("daily_digest").next_run_at == datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def test_sync__recomputes_when_the_definition_changed():
    recurring.sync_schedules(NOW)
    Schedule.objects.filter(name="tests.testapp.jobs.daily_digest").update(cron="0 6 * * *")
    recurring.sync_schedules(NOW)
    assert schedule("daily_digest").cron == "0 18 * * 1-5"


def test_enqueue_due__interval_fires_once_per_tick():
    recurring.sync_schedules(NOW)
    assert recurring.enqueue_due(NOW) >= 1
    jobs = Job.objects.filter(name="tests.testapp.jobs.every_ten_minutes")
    assert [j.scheduled_for for j in jobs] == [NOW]
    assert schedule("every_ten_minutes").next_run_at == NOW + timedelta(minutes=10)
    recurring.enqueue_due(NOW + timedelta(minutes=1))
    assert jobs.count() == 1


def test_enqueue_due__two_workers_same_moment_one_run():
    recurring.sync_schedules(NOW)
    stale = list(Schedule.objects.filter(name="tests.testapp.jobs.every_ten_minutes"))
    recurring.enqueue_due(NOW)
    # A second worker that read the schedule before the first advanced it loses the race.
    assert (
        recurring._fire(stale[0], recurring.recurring_definitions()[stale[0].name], NOW, "default")
        == 0
    )
    assert Job.objects.filter(name="tests.testapp.jobs.every_ten_minutes").count() == 1


def test_enqueue_due__cron_misfire_once_after_downtime():
    recurring.sync_schedules(NOW)
    later = NOW + timedelta(days=6)  # a week of weekdays missed
    recurring.enqueue_due(later)
    jobs = Job.objects.filter(name="tests.testapp.jobs.daily_digest")
    assert jobs.count() == 1
    assert schedule("daily_digest").next_run_at > later


def test_enqueue_due__cron_misfire_all_capped(settings):
    settings.DJANGO_JOBS_MISFIRE_MAX_RUNS = 3
    recurring.sync_schedules(NOW)
    Schedule.objects.filter(name="tests.testapp.jobs.daily_digest").update(misfire="all")
    recurring.enqueue_due(NOW + timedelta(days=14))
    assert Job.objects.filter(name="tests.testapp.jobs.daily_digest").count() == 3


def test_enqueue_due__catch_up_ticks_written_in_one_statement_keep_their_times(settings):
    settings.DJANGO_JOBS_MISFIRE_MAX_RUNS = 3
    recurring.sync_schedules(NOW)
    Schedule.objects.filter(name="tests.testapp.jobs.daily_digest").update(misfire="all")
    recurring.enqueue_due(NOW + timedelta(days=14))
    following = schedule("daily_digest").next_run_at  # the last 3 ticks are run, a day apart
    ticks = Job.objects.filter(name="tests.testapp.jobs.daily_digest").order_by("scheduled_for")
    assert [j.scheduled_for for j in ticks] == [following - timedelta(days=d) for d in (3, 2, 1)]


def test_enqueue_due__disabled_and_skipped_do_not_fire():
    recurring.sync_schedules(NOW)
    Schedule.objects.filter(name="tests.testapp.jobs.every_ten_minutes").update(enabled=False)
    Schedule.objects.filter(name="tests.testapp.jobs.every_second").update(skipped_at=NOW)
    recurring.enqueue_due(NOW + timedelta(minutes=1))
    assert not Job.objects.filter(
        name__in=["tests.testapp.jobs.every_ten_minutes", "tests.testapp.jobs.every_second"]
    ).exists()


def test_enqueue_due__max_runs(settings):
    recurring.sync_schedules(NOW)
    Schedule.objects.filter(name="tests.testapp.jobs.every_ten_minutes").update(max_runs=2)
    for minutes in (0, 10, 20, 30):
        recurring.enqueue_due(NOW + timedelta(minutes=minutes))
    assert Job.objects.filter(name="tests.testapp.jobs.every_ten_minutes").count() == 2
    assert schedule("every_ten_minutes").next_run_at is None


def test_recurring_job__waits_for_its_run_then_interval():
    recurring.sync_schedules(NOW)
    recurring.enqueue_due(NOW)
    purge = schedule("PurgeSessions")
    assert purge.next_run_at is None  # planned when the run ends
    recurring.enqueue_due(NOW + timedelta(hours=5))
    assert Job.objects.filter(name="tests.testapp.jobs.PurgeSessions").count() == 1
    run_jobs()
    purge.refresh_from_db()
    assert purge.consecutive_failures == 0
    assert purge.next_run_at is not None


def test_recurring_job__failures_back_off_then_skip(clean_registry):
    from django_jobs import RecurringJob

    class Flaky(RecurringJob):
        name = "flaky_recurring"
        interval = 60
        max_retries = 2

        def run(self) -> None:
            raise RuntimeError("nope")

    start = datetime.now(UTC)
    recurring.sync_schedules(start)
    recurring.enqueue_due(start)
    run_jobs()
    flaky = Schedule.objects.get(name="flaky_recurring")
    assert flaky.consecutive_failures == 1 and flaky.skipped_at is None
    finished = Job.objects.get(name="flaky_recurring").finished_at
    waited = (flaky.next_run_at - finished).total_seconds()
    assert 1.9 <= waited <= 2.1  # min(2 ** 1, 300)
    recurring.enqueue_due(flaky.next_run_at)
    run_jobs()
    flaky.refresh_from_db()
    assert flaky.consecutive_failures == 2
    assert flaky.skipped_at is not None
    recurring.enqueue_due(flaky.next_run_at + timedelta(hours=1))
    assert Job.objects.filter(name="flaky_recurring").count() == 2  # skipped: no third run


def test_cron_job__consecutive_failures_reset_by_success():
    recurring.sync_schedules(NOW)
    Schedule.objects.filter(name="tests.testapp.jobs.daily_digest").update(consecutive_failures=3)
    recurring.enqueue_due(NOW + timedelta(hours=6))
    run_jobs()
    assert schedule("daily_digest").consecutive_failures == 0


def test_start_at__no_tick_before(clean_registry):
    from django_jobs import Cron, job

    @job(name="later_cron", cron=Cron("* * * * *", start_at=datetime(2030, 1, 1, tzinfo=UTC)))
    def later() -> None:
        pass

    recurring.sync_schedules(NOW)
    assert Schedule.objects.get(name="later_cron").next_run_at >= datetime(2030, 1, 1, tzinfo=UTC)


def test_enqueue_due__tick_already_enqueued_is_skipped_not_an_error():
    recurring.sync_schedules(NOW)
    recurring.enqueue_due(NOW)
    # As if the schedule row were rewound (a restore, a hand edit): the same tick again.
    Schedule.objects.filter(name="tests.testapp.jobs.every_ten_minutes").update(next_run_at=NOW)
    recurring.enqueue_due(NOW)
    assert Job.objects.filter(name="tests.testapp.jobs.every_ten_minutes").count() == 1
    assert schedule("every_ten_minutes").next_run_at == NOW + timedelta(minutes=10)


def test_recurring_job__cancelled_waiting_run_plans_the_next():
    recurring.sync_schedules(NOW)
    recurring.enqueue_due(NOW)
    Job.objects.get(name="tests.testapp.jobs.PurgeSessions").cancel()
    purge = schedule("PurgeSessions")
    assert purge.next_run_at is not None
    assert purge.consecutive_failures == 0


def test_durable_run__last_outcome_error_and_duration_booked(clean_registry):
    from django_jobs import job

    @job(name="failing_interval", interval=60, max_retries=0)
    def failing() -> None:
        raise ValueError("no data")

    recurring.sync_schedules(NOW)
    recurring.enqueue_due(NOW)
    run_jobs()
    ok = schedule("every_ten_minutes")
    assert (ok.last_outcome, ok.last_error) == ("succeeded", "")
    assert ok.last_duration_seconds is not None
    bad = Schedule.objects.get(name="failing_interval")
    assert (bad.last_outcome, bad.last_error) == ("failed", "builtins.ValueError: no data")
    assert bad.durable is True


def test_durable_run__cancelled_before_it_ran_has_no_duration():
    recurring.sync_schedules(NOW)
    recurring.enqueue_due(NOW)
    Job.objects.get(name="tests.testapp.jobs.PurgeSessions").cancel()
    purge = schedule("PurgeSessions")
    assert (purge.last_outcome, purge.last_error, purge.last_duration_seconds) == (
        "cancelled",
        "",
        None,
    )
