"""Cron, interval and misfire arithmetic on top of croniter. Pure: every "now" is passed in
(except validation, which asks whether a cron expression has a next tick after the clock).

Misfire policies decide what happens to ticks missed while no worker ran:

* ``"all"``   every missed tick runs (capped by ``DJANGO_JOBS_MISFIRE_MAX_RUNS``);
* ``"skip"``  missed ticks (more than 60 s late) are dropped, the next future tick runs;
* ``"once"``  the missed ticks collapse into one catch-up run;
* a number    ticks missed by at most that many seconds run, older ones are dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from django_jobs.exceptions import JobDefinitionError

MISFIRE_WORDS = ("all", "skip", "once")
#: How late a tick may be and still count as on time under ``misfire="skip"``.
ON_TIME = timedelta(seconds=60)
MISFIRE_RULE = f"misfire must be one of {', '.join(MISFIRE_WORDS)} or seconds of grace"


@dataclass(frozen=True)
class Cron:
    """A cron schedule: ``Cron("0 18 * * 1-5", timezone="Europe/Paris", misfire="once")``.

    ``max_runs``: stop after this many runs; ``max_failures``: disable the schedule after this
    many consecutive failures; ``start_at``: no run before this (aware) datetime.
    """

    expression: str
    timezone: str = "UTC"
    misfire: str | float = "once"
    max_runs: int | None = None
    max_failures: int | None = None
    start_at: datetime | None = None

    def __post_init__(self) -> None:
        problem = cron_problem(self)
        if problem:
            raise JobDefinitionError(
                f"Cron({self.expression!r}): {problem}", check_id="django_jobs.E012"
            )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment``, as an aware UTC datetime."""
        local = moment.astimezone(self.zone)
        tick = croniter(self.expression, local).get_next(datetime)
        return tick.astimezone(dt_timezone.utc)

    def previous_before(self, moment: datetime) -> datetime:
        """The last tick strictly before ``moment``, as an aware UTC datetime."""
        local = moment.astimezone(self.zone)
        tick = croniter(self.expression, local).get_prev(datetime)
        return tick.astimezone(dt_timezone.utc)


def cron_problem(cron: Cron) -> str | None:
    """A sentence saying what is wrong with ``cron``, or ``None``."""
    if not isinstance(cron.expression, str) or not croniter.is_valid(cron.expression):
        return f"{cron.expression!r} is not a valid cron expression"
    try:
        ZoneInfo(cron.timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return f"timezone {cron.timezone!r} is not a known IANA time zone"
    misfire_problem = check_misfire(cron.misfire)
    if misfire_problem:
        return misfire_problem
    for option in ("max_runs", "max_failures"):
        value = getattr(cron, option)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            return f"{option} must be a positive integer or None, got {value!r}"
    if cron.start_at is not None and (
        not isinstance(cron.start_at, datetime) or cron.start_at.tzinfo is None
    ):
        return f"start_at must be a timezone-aware datetime, got {cron.start_at!r}"
    return _never_fires(cron)


def _never_fires(cron: Cron) -> str | None:
    """``Cron("0 0 30 2 *")`` is valid syntax but has no date: refuse it like a typo."""
    after = max(cron.start_at or datetime.min.replace(tzinfo=dt_timezone.utc), _clock())
    try:
        cron.next_after(after)
    except CroniterBadDateError:
        return f"{cron.expression!r} never fires (no date matches it after {after:%Y-%m-%d})"
    return None


def _clock() -> datetime:
    return datetime.now(dt_timezone.utc)


def following(cron: Cron | None, interval_seconds: float | None) -> Callable[[datetime], datetime]:
    """The tick after a tick: ``cron``'s next one or, without a cron, ``interval_seconds``
    later. The one tick step of every fixed-tick schedule (the worker's, ``Schedule``'s)."""
    if cron is not None:
        return cron.next_after
    step = timedelta(seconds=interval_seconds or 0)
    return lambda tick: tick + step


def preceding(
    cron: Cron | None, interval_seconds: float | None, origin: datetime
) -> Callable[[datetime], datetime]:
    """The last tick strictly before a moment; interval ticks sit on ``origin + k * step``."""
    if cron is not None:
        return cron.previous_before
    step = timedelta(seconds=interval_seconds or 0)
    return lambda moment: origin + step * (-((origin - moment) // step) - 1)


def first_tick(cron: Cron | None, now: datetime) -> datetime:
    """A new schedule's first run: ``cron``'s first tick after ``now`` (and not before its
    ``start_at``); an interval schedule runs at once, then every interval."""
    if cron is None:
        return now
    start = max(now, cron.start_at) if cron.start_at else now
    return cron.next_after(start)


def misfire_policy(stored: str) -> str | float:
    """A misfire policy as a ``Schedule`` row stores it (text), as ``due_ticks`` takes it."""
    return stored if stored in MISFIRE_WORDS else float(stored)


def check_misfire(misfire: Any) -> str | None:
    if isinstance(misfire, str):
        return None if misfire in MISFIRE_WORDS else (MISFIRE_RULE + f", got {misfire!r}")
    if isinstance(misfire, bool) or not isinstance(misfire, (int, float)) or misfire < 0:
        return MISFIRE_RULE + f", got {misfire!r}"
    return None


def due_ticks(
    next_tick: datetime,
    now: datetime,
    following: Any,
    misfire: str | float,
    cap: int,
    preceding: Any = None,
) -> tuple[list[datetime], datetime]:
    """Which ticks to run now, and the next tick to wait for.

    ``next_tick`` is the stored next run; ``following(t)`` gives the tick after ``t`` and
    ``preceding(t)`` the last one strictly before ``t``. Returns ``(ticks to enqueue, new next
    tick)``; the list is empty when nothing is due.
    """
    missed, tick = missed_ticks(next_tick, now, following, preceding, cap)
    if not missed:
        return [], tick
    if misfire == "all":
        return missed[:cap], tick
    if misfire == "skip":
        # Only the newest tick, and only when it is late by no more than a worker loop could
        # explain, counts as on time; every other missed tick is dropped.
        return ([missed[-1]] if now - missed[-1] <= ON_TIME else []), tick
    if misfire == "once":
        return [missed[-1]], tick
    grace = timedelta(seconds=float(misfire))
    return [t for t in missed if now - t <= grace][:cap], tick


def missed_ticks(
    next_tick: datetime, now: datetime, following: Any, preceding: Any, cap: int
) -> tuple[list[datetime], datetime]:
    """The newest ``cap`` ticks from ``next_tick`` up to ``now``, and the first tick after it.

    Walks forward at most ``cap + 1`` ticks. When more were missed (a per-second cron after a
    week of downtime is 604,800 ticks), it jumps instead: the newest ticks are found backward
    from ``now`` with ``preceding``, so catching up costs ``cap`` steps, not one per tick.
    Without ``preceding`` it walks every tick.
    """
    recent: deque[datetime] = deque(maxlen=cap)  # the newest missed ticks only
    tick, walked = next_tick, 0
    while tick <= now and (preceding is None or walked <= cap):
        recent.append(tick)
        tick, walked = following(tick), walked + 1
    if tick > now:
        return list(recent), tick
    newest = preceding(now)
    after = following(newest)
    if after <= now:  # ``now`` is itself a tick
        newest, after = after, following(after)
    back = [newest]
    while len(back) < cap:
        back.append(preceding(back[-1]))
    return back[::-1], after
