"""The checks of a definition: its version, its function, and its options by the option table.

Every problem raises ``JobDefinitionError`` naming the definition and the option.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from django_jobs import options as opt
from django_jobs.option_table import DEFINITION, OPTIONS, did_you_mean, names


def check_identity(name: str, version: Any, func: Any) -> None:
    """A version from 1 and a callable."""
    opt.checked(name, "version", opt.count(minimum=1), version)
    if not callable(func):
        opt.fail(name, "func", f"must be callable, got {func!r}")


def checked_options(name: str, options: dict[str, Any], place: str) -> dict[str, Any]:
    """Every option checked as ``place`` takes it; return them normalised."""
    allowed = names(place)
    out: dict[str, Any] = {}
    for option, value in options.items():
        if option not in allowed:
            opt.fail(name, option, f"is not a job option{did_you_mean(option, place)}")
        out[option] = opt.checked(name, option, OPTIONS[option].check_at(place), value)
    return out


def validated(
    name: str, version: Any, func: Callable[..., Any], options: dict[str, Any]
) -> dict[str, Any]:
    """The ``@job`` options of ``func``, checked alone and together; return them normalised."""
    check_identity(name, version, func)
    out = checked_options(name, options, DEFINITION)
    _check_schedule(name, func, out)
    if out.get("atomic") and inspect.iscoroutinefunction(func):
        opt.fail(name, "atomic", "is only available for sync (def) functions, not async def")
    return out


def _check_schedule(name: str, func: Callable[..., Any], out: dict[str, Any]) -> None:
    """One schedule at most, of a function that runs without arguments."""
    cron, interval = out.get("cron"), out.get("interval")
    if cron is not None and interval is not None:
        opt.fail(name, "cron", "and 'interval' cannot both be set", check_id=opt.SCHEDULE_ERROR)
    if cron is None and interval is None:
        return
    required = [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if required:
        opt.fail(
            name,
            "cron" if cron else "interval",
            f"needs a function without required arguments; {func.__name__} requires "
            f"{', '.join(required)}",
            check_id=opt.SCHEDULE_ERROR,
        )
