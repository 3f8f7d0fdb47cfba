"""Validation of ``@job`` options: each check names the definition and the option.

Every function here raises ``JobDefinitionError`` with a sentence a user can act on.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django_jobs.exceptions import JobDefinitionError, describe
from django_jobs.names import NAME_RE, QUEUE_NAME_RE, QUEUE_NAME_RULE
from django_jobs.retry import Backoff
from django_jobs.schedules import Cron

ON_SHUTDOWN = ("finish", "requeue", "stop")
PRIORITY_RANGE = (-100, 100)


def fail(name: str, option: str, problem: str, check_id: str = "django_jobs.E010") -> None:
    raise JobDefinitionError(
        f"job definition {name!r}: option {option!r} {problem}", check_id=check_id
    )


def seconds(
    name: str, option: str, value: Any, *, allow_zero: bool, allow_none: bool = True
) -> float | None:
    """A number of seconds from an int, float or timedelta; ``None`` passes when allowed."""
    if value is None and allow_none:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(name, option, f"must be a number of seconds or a timedelta, got {value!r}")
    if not value < float("inf"):  # NaN and infinity
        fail(name, option, f"must be a finite number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        fail(name, option, f"must be {bound} seconds, got {value!r}")
    return float(value)


def count(
    name: str, option: str, value: Any, *, minimum: int, allow_none: bool = False
) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        fail(name, option, f"must be an integer >= {minimum}, got {value!r}")
    return value


def definition_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise JobDefinitionError(
            f"job definition name {name!r} is invalid: use 1 to 200 letters, digits, '_', '.', "
            "':' or '-', starting with a letter or '_' (a function defined inside another "
            "function needs an explicit name=)",
            check_id="django_jobs.E010",
        )
    return name


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


def queue(name: str, value: Any) -> str:
    problem = queue_problem(value)
    if problem:
        fail(name, "queue", problem)
    return value


def priority(name: str, value: Any) -> int:
    problem = priority_problem(value)
    if problem:
        fail(name, "priority", problem)
    return value


def backoff(name: str, value: Any) -> Backoff:
    try:
        return Backoff(value)
    except ValueError:
        choices = ", ".join(b.name for b in Backoff)
        fail(name, "backoff", f"must be one of Backoff.{{{choices}}}, got {value!r}")
        raise  # unreachable; keeps type checkers calm


def retry_on(name: str, value: Any) -> tuple[type[BaseException], ...]:
    classes = value if isinstance(value, tuple) else (value,)
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            fail(name, "retry_on", f"must be an exception class or a tuple of them, got {cls!r}")
    return classes


def on_shutdown(name: str, value: Any) -> str:
    if value not in ON_SHUTDOWN:
        fail(name, "on_shutdown", f"must be one of {', '.join(ON_SHUTDOWN)}, got {value!r}")
    return value


def flag(name: str, option: str, value: Any) -> bool:
    if not isinstance(value, bool):
        fail(name, option, f"must be True or False, got {value!r}")
    return value


def json_object(name: str, option: str, value: Any) -> dict[str, Any]:
    problem = json_problem(value, option)
    if problem:
        fail(name, option, problem)
    return value


def cron(name: str, value: Any) -> Cron | None:
    if value is None or isinstance(value, Cron):
        return value
    if isinstance(value, str):
        try:
            return Cron(value)
        except JobDefinitionError as exc:
            fail(name, "cron", str(exc), check_id="django_jobs.E012")
    fail(
        name,
        "cron",
        f"must be a cron string or a Cron(...), got {value!r}",
        check_id="django_jobs.E012",
    )
    return None
