"""The checks of a definition: its version, its function, and its options by the option table.

Every problem raises ``JobDefinitionError`` naming the definition and the option.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NoReturn

from django_jobs import options as opt
from django_jobs.exceptions import JobDefinitionError
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
    _check_atomic(name, func, out)
    check_run_mode(name, func, out.get("run_mode"))
    _check_durable(name, out)
    return out


def _check_atomic(name: str, func: Callable[..., Any], out: dict[str, Any]) -> None:
    """``atomic=True`` only where the body can share the record's transaction."""
    if not out.get("atomic"):
        return
    if out.get("run_mode") == "async":
        _refuse(
            name,
            "atomic=True cannot run with run_mode='async': an atomic job's body and its record "
            "share one transaction on the worker's connection, which the event loop cannot "
            "hold; use a plain def function with run_mode='thread' or 'process'",
            opt.RUN_MODE_ERROR,
        )
    if inspect.iscoroutinefunction(func):
        opt.fail(name, "atomic", "is only available for sync (def) functions, not async def")


def _check_durable(name: str, out: dict[str, Any]) -> None:
    """``durable=False`` only on a schedule: a job enqueued by hand always has its row."""
    if out.get("durable") is False and out.get("cron") is None and out.get("interval") is None:
        _refuse(
            name,
            "durable=False is only for recurring definitions (cron= or interval=), and this "
            "one has no schedule: remove durable=False, or give it a schedule",
            opt.DURABLE_ERROR,
        )


def check_run_mode(name: str, func: Callable[..., Any], run_mode: str | None) -> None:
    """A ``run_mode`` that fits the function: "async" an ``async def``, "thread" a ``def``."""
    what = getattr(func, "__qualname__", None) or repr(func)
    is_async = inspect.iscoroutinefunction(func)
    if run_mode == "async" and not is_async:
        _refuse(
            name,
            f"run_mode='async' needs an async def function; {what} is a plain def: "
            "use run_mode='thread' or 'process'",
            opt.RUN_MODE_ERROR,
        )
    if run_mode == "thread" and is_async:
        _refuse(
            name,
            f"run_mode='thread' needs a plain def function; {what} is an async def, which "
            "runs on the worker's event loop: use run_mode='async' or 'process'",
            opt.RUN_MODE_ERROR,
        )


def _refuse(name: str, problem: str, check_id: str) -> NoReturn:
    """A problem of several options together (``fail`` names one option)."""
    raise JobDefinitionError(f"job definition {name!r}: {problem}", check_id=check_id)


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
