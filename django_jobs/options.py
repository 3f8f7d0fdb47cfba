"""The checks of option values, shared by every place an option may be given.

Each check takes a value and returns it normalised (seconds as floats, enums, tuples) or
raises ``Problem``, whose text ends the sentence "option 'timeout' ...": the caller names
what was being defined or enqueued (``fail`` for a definition, ``InvalidEnqueue`` for an
enqueue). Which option has which check, and where each may be given, is the table in
``django_jobs.option_table``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.utils import timezone

from django_jobs.exceptions import JobDefinitionError, describe
from django_jobs.ids import parse_job_id
from django_jobs.names import NAME_RE, QUEUE_NAME_RE, QUEUE_NAME_RULE
from django_jobs.retry import Backoff
from django_jobs.schedules import Cron

#: A check: the value given -> the value kept; raises ``Problem``.
Check = Callable[[Any], Any]

ON_SHUTDOWN = ("finish", "requeue", "stop")
ON_CONFLICT = ("return", "raise", "replace")
RUN_MODES = ("async", "thread", "process")
PRIORITY_RANGE = (-100, 100)
MAX_DELAY = timedelta(days=36_525)  # a hundred years: a date any database can store
DEFINITION_ERROR = "django_jobs.E010"
SCHEDULE_ERROR = "django_jobs.E012"
RUN_MODE_ERROR = "django_jobs.E013"  # a run_mode that does not fit the function or atomic
DURABLE_ERROR = "django_jobs.E014"  # durable=False without a schedule


class Problem(ValueError):
    """A value an option refuses; ``str()`` ends the sentence "option 'x' ..."."""

    def __init__(self, text: str, check_id: str = DEFINITION_ERROR) -> None:
        super().__init__(text)
        self.check_id = check_id  # the system check id of a definition with this problem


def fail(name: str, option: str, problem: str, check_id: str = DEFINITION_ERROR) -> NoReturn:
    raise JobDefinitionError(
        f"job definition {name!r}: option {option!r} {problem}", check_id=check_id
    )


def checked(name: str, option: str, check: Check, value: Any) -> Any:
    """``check(value)``; a ``Problem`` is raised as definition ``name``'s error."""
    try:
        return check(value)
    except Problem as exc:
        fail(name, option, str(exc), exc.check_id)


def definition_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise JobDefinitionError(
            f"job definition name {name!r} is invalid: use 1 to 200 letters, digits, '_', '.', "
            "':' or '-', starting with a letter or '_' (a function defined inside another "
            "function needs an explicit name=)",
            check_id=DEFINITION_ERROR,
        )
    return name


# --- problems: a sentence or None (also used where no option is being set) --------------------


def queue_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not QUEUE_NAME_RE.fullmatch(value):
        return f"must be a queue name ({QUEUE_NAME_RULE}), got {value!r}"
    return None


def priority_problem(value: Any) -> str | None:
    low, high = PRIORITY_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"must be an integer from {low} to {high}, got {value!r}"
    return None


def key_problem(value: Any, path: str) -> str | None:
    """Where ``value`` holds a dict key that is not a string, or ``None``.

    JSON object keys are strings: ``json.dumps`` would store ``{1: "a"}`` as ``{"1": "a"}``
    (and refuse a tuple key), so the job would receive other data than it was given. The
    sentence names the dict by its path from ``path``: ``data['rows'][0]``.
    """
    todo = [(value, path)]
    while todo:
        item, where = todo.pop()
        if isinstance(item, dict):
            for key in item:
                if not isinstance(key, str):
                    return (
                        f"the dict at {where} has the key {describe(key)}: "
                        "JSON object keys must be strings"
                    )
            todo.extend((child, f"{where}[{key!r}]") for key, child in reversed(item.items()))
        elif isinstance(item, (list, tuple)):
            todo.extend((item[i], f"{where}[{i}]") for i in reversed(range(len(item))))
    return None


def json_problem(value: Any, option: str = "meta") -> str | None:
    if not isinstance(value, dict):
        return f"must be a dict, got {type(value).__name__}"
    problem = key_problem(value, option)
    if problem:
        return f"must be JSON-serialisable: {problem}"
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"must be JSON-serialisable: {exc}"
    if "\\u0000" in text:
        return "must not contain the NUL character (\\x00)"
    return None


def _from_problem(problem_of: Callable[[Any], str | None]) -> Check:
    def check(value: Any) -> Any:
        problem = problem_of(value)
        if problem:
            raise Problem(problem)
        return value

    return check


priority = _from_problem(priority_problem)
meta = _from_problem(json_problem)  # also refuses non-string keys, at any depth
_queue = _from_problem(queue_problem)


def queue(value: Any) -> str | None:
    """A queue name; ``None``: the default queue."""
    return None if value is None else _queue(value)


# --- definition options -----------------------------------------------------------------------


def seconds(*, allow_zero: bool, allow_none: bool = True) -> Check:
    """A number of seconds from an int, float or timedelta; ``None`` passes when allowed."""

    def check(value: Any) -> float | None:
        if value is None and allow_none:
            return None
        if isinstance(value, timedelta):
            value = value.total_seconds()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Problem(f"must be a number of seconds or a timedelta, got {value!r}")
        if not value < float("inf"):  # NaN and infinity
            raise Problem(f"must be a finite number of seconds, got {value!r}")
        if value < 0 or (value == 0 and not allow_zero):
            bound = ">= 0" if allow_zero else "> 0"
            raise Problem(f"must be {bound} seconds, got {value!r}")
        return float(value)

    return check


def count(*, minimum: int, allow_none: bool = False) -> Check:
    def check(value: Any) -> int | None:
        if value is None and allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise Problem(f"must be an integer >= {minimum}, got {value!r}")
        return value

    return check


def ttl(value: Any) -> timedelta | None:
    secs = seconds(allow_zero=True)(value)
    return None if secs is None else timedelta(seconds=secs)


def backoff(value: Any) -> Backoff:
    try:
        return Backoff(value)
    except ValueError:
        choices = ", ".join(b.name for b in Backoff)
        raise Problem(f"must be one of Backoff.{{{choices}}}, got {value!r}") from None


def retry_on(value: Any) -> tuple[type[BaseException], ...]:
    classes = value if isinstance(value, tuple) else (value,)
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            raise Problem(f"must be an exception class or a tuple of them, got {cls!r}")
    return classes


def on_shutdown(value: Any) -> str:
    if value not in ON_SHUTDOWN:
        raise Problem(f"must be one of {', '.join(ON_SHUTDOWN)}, got {value!r}")
    return value


def run_mode(value: Any) -> str | None:
    """``"async"``, ``"thread"`` or ``"process"``; ``None``: the function's default."""
    if value is None or (isinstance(value, str) and value in RUN_MODES):
        return value
    close = difflib.get_close_matches(str(value), RUN_MODES, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise Problem(f"must be one of {', '.join(RUN_MODES)}, got {value!r}{hint}")


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Problem(f"must be True or False, got {value!r}")
    return value


def cron(value: Any) -> Cron | None:
    if value is None or isinstance(value, Cron):
        return value
    if isinstance(value, str):
        try:
            return Cron(value)
        except JobDefinitionError as exc:
            raise Problem(str(exc), SCHEDULE_ERROR) from None
    raise Problem(f"must be a cron string or a Cron(...), got {value!r}", SCHEDULE_ERROR)


# --- enqueue options --------------------------------------------------------------------------


def run_at(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise Problem(f"must be a datetime, got {describe(value)}")
    if settings.USE_TZ and timezone.is_naive(value):
        raise Problem(f"must be timezone-aware when USE_TZ is on, got {value!r}")
    if not settings.USE_TZ and timezone.is_aware(value):
        return timezone.make_naive(value)
    return value


def delay(value: Any) -> timedelta:
    # Messages show the value as given: seconds as the number, a negative timedelta as
    # "-0:00:05" (str() would say "-1 day, 23:59:55").
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or not -MAX_DELAY.total_seconds() <= value <= MAX_DELAY.total_seconds():
            raise Problem(f"must be from 0 seconds to 100 years, got {value!r}")
        shown, value = repr(value), timedelta(seconds=value)
    elif isinstance(value, timedelta):
        shown = f"-{-value}" if value < timedelta(0) else str(value)
    else:
        raise Problem(f"must be a timedelta or a number of seconds, got {describe(value)}")
    if value < timedelta(0):
        raise Problem(f"must not be negative, got {shown}")
    if value > MAX_DELAY:
        raise Problem(f"must be at most 100 years, got {shown}")
    return value


def job_id(value: Any) -> Any:
    """A client-chosen job id, a UUID or a ULID, as a ``uuid.UUID``."""
    try:
        return parse_job_id(value)
    except ValueError as exc:
        raise Problem(f"must be a UUID or a ULID: {exc}") from None


def text(value: Any, limit: int = 255) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise Problem(
            f"must be a non-empty string of at most {limit} characters, got {describe(value)}"
        )
    return value


def on_conflict(value: Any) -> str:
    if value not in ON_CONFLICT:
        raise Problem(f"must be one of {', '.join(ON_CONFLICT)}, got {value!r}")
    return value
