from datetime import datetime, timedelta, timezone

import pytest

from django_jobs.exceptions import JobDefinitionError
from django_jobs.schedules import Cron, due_ticks, first_tick, following, misfire_policy, preceding

UTC = timezone.utc


def minutely(t):
    return t + timedelta(minutes=1)


def test_cron__invalid_expression_names_it():
    with pytest.raises(JobDefinitionError, match="not a valid cron expression") as info:
        Cron("61 * * * *")
    assert info.value.check_id == "django_jobs.E012"


def test_cron__unknown_timezone():
    with pytest.raises(JobDefinitionError, match="Mars/Olympus"):
        Cron("* * * * *", timezone="Mars/Olympus")


@pytest.mark.parametrize("misfire", ["sometimes", -1, True, None])
def test_cron__bad_misfire(misfire):
    with pytest.raises(JobDefinitionError, match="misfire"):
        Cron("* * * * *", misfire=misfire)


def test_cron__naive_start_at_refused():
    with pytest.raises(JobDefinitionError, match="start_at"):
        Cron("* * * * *", start_at=datetime(2027, 1, 1))


def test_cron__zero_max_runs_refused():
    with pytest.raises(JobDefinitionError, match="max_runs"):
        Cron("* * * * *", max_runs=0)


def test_cron__next_after_uses_the_timezone():
    cron = Cron("0 18 * * 1-5", timezone="Europe/Paris")
    # Friday 2026-11-20 12:00 UTC -> 18:00 Paris (CET, UTC+1) = 17:00 UTC
    tick = cron.next_after(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    assert tick == datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    # After that, the next weekday is Monday
    assert cron.next_after(tick) == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def test_due_ticks__nothing_due():
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert due_ticks(start, start - timedelta(seconds=1), minutely, "all", 100) == ([], start)


def test_due_ticks__all_runs_every_missed_tick():
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    ticks, nxt = due_ticks(start, start + timedelta(minutes=4, seconds=30), minutely, "all", 100)
    assert len(ticks) == 5
    assert nxt == start + timedelta(minutes=5)


def test_due_ticks__all_is_capped():
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    ticks, _ = due_ticks(start, start + timedelta(hours=5), minutely, "all", 10)
    assert len(ticks) == 10


def test_due_ticks__once_collapses_to_the_latest():
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    ticks, _ = due_ticks(start, start + timedelta(minutes=10, seconds=5), minutely, "once", 100)
    assert ticks == [start + timedelta(minutes=10)]


def test_due_ticks__skip_drops_late_ticks():
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    ticks, nxt = due_ticks(
        start, start + timedelta(hours=3, seconds=61), lambda t: t + timedelta(hours=1), "skip", 100
    )
    assert ticks == []
    assert nxt == start + timedelta(hours=4)


def test_due_ticks__skip_keeps_an_on_time_tick():
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    ticks, _ = due_ticks(start, start + timedelta(seconds=2), minutely, "skip", 100)
    assert ticks == [start]


def test_due_ticks__grace_seconds():
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    now = start + timedelta(minutes=5)
    ticks, _ = due_ticks(start, now, minutely, 150, 100)
    assert ticks == [
        start + timedelta(minutes=3),
        start + timedelta(minutes=4),
        start + timedelta(minutes=5),
    ]


def test_due_ticks__cap_keeps_the_newest_ticks():
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    now = start + timedelta(hours=5)
    ticks, _ = due_ticks(start, now, minutely, "all", 3)
    assert ticks == [now - timedelta(minutes=2), now - timedelta(minutes=1), now]
    once, _ = due_ticks(start, now, minutely, "once", 3)
    assert once == [now]


# --- catch-up after long downtime: jump, do not walk -----------------------------------------


class Counted:
    """A tick function that counts its calls."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, moment):
        self.calls += 1
        return self.fn(moment)


def test_due_ticks__a_week_of_per_second_ticks_costs_cap_steps_not_one_per_tick():
    cron = Cron("* * * * * *")  # every second
    start = datetime(2026, 11, 1, tzinfo=UTC)
    now = start + timedelta(days=7, microseconds=500)
    forward, backward = Counted(cron.next_after), Counted(cron.previous_before)
    ticks, nxt = due_ticks(start, now, forward, "all", 100, backward)
    assert forward.calls + backward.calls <= 2 * 100 + 5
    assert ticks == [now.replace(microsecond=0) - timedelta(seconds=99 - i) for i in range(100)]
    assert nxt == now.replace(microsecond=0) + timedelta(seconds=1)


@pytest.mark.parametrize("misfire", ["all", "once", "skip", 30.0])
@pytest.mark.parametrize("missed", [0, 1, 3, 4, 5, 17])
@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=20)])
def test_due_ticks__jumping_gives_what_walking_gives(misfire, missed, offset):
    cron = Cron("*/1 * * * *")
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    now = start + timedelta(minutes=missed) + offset
    walked = due_ticks(start, now, cron.next_after, misfire, 4)
    jumped = due_ticks(start, now, cron.next_after, misfire, 4, cron.previous_before)
    assert jumped == walked


@pytest.mark.parametrize("missed", [0, 1, 3, 4, 5, 17, 10_000])
@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=7)])
def test_due_ticks__interval_ticks_jump_on_their_own_grid(missed, offset):
    start = datetime(2026, 11, 1, 8, 0, 5, tzinfo=UTC)
    now = start + timedelta(seconds=30 * missed) + offset
    step = following(None, 30)
    ticks, nxt = due_ticks(start, now, step, "all", 4, preceding(None, 30, start))
    expected = [start + timedelta(seconds=30 * k) for k in range(max(0, missed - 3), missed + 1)]
    assert ticks == expected
    assert nxt == start + timedelta(seconds=30 * (missed + 1))


@pytest.mark.parametrize("expression", ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6,9,11 *"])
def test_cron__an_expression_with_no_date_is_refused(expression):
    with pytest.raises(JobDefinitionError, match="never fires") as info:
        Cron(expression)
    assert info.value.check_id == "django_jobs.E012"


def test_cron__day_of_month_or_weekday_still_fires():
    # Day of month and day of week are OR-ed when both are restricted: Mondays, and Feb 30.
    assert Cron("0 0 30 2 1").next_after(datetime(2026, 1, 1, tzinfo=UTC)).weekday() == 0


def test_first_tick__cron_waits_for_start_at_interval_runs_at_once():
    now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    later = now + timedelta(days=2)
    assert first_tick(Cron("0 9 * * *"), now) == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    assert first_tick(Cron("0 9 * * *", start_at=later), now) == later + timedelta(hours=1)
    assert first_tick(None, now) == now


@pytest.mark.parametrize(("stored", "policy"), [("all", "all"), ("once", "once"), ("90.0", 90.0)])
def test_misfire_policy__words_stay_numbers_become_seconds(stored, policy):
    assert misfire_policy(stored) == policy
