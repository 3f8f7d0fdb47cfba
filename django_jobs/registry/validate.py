"""The checks of a definition: its version, its function, its options and their combinations.

Every problem raises ``JobDefinitionError`` naming the definition and the option.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django_jobs import options as opt


def validated(
    name: str, version: Any, func: Callable[..., Any], options: dict[str, Any]
) -> dict[str, Any]:
    """Check every option; return them normalised (seconds as floats, enums, tuples)."""
    out: dict[str, Any] = {}
    opt.count(name, "version", version, minimum=1)
    if not callable(func):
        opt.fail(name, "func", f"must be callable, got {func!r}")
    checks: dict[str, Callable[[Any], Any]] = {
        "queue": lambda v: None if v is None else opt.queue(name, v),
        "priority": lambda v: opt.priority(name, v),
        "max_retries": lambda v: opt.count(name, "max_retries", v, minimum=0, allow_none=True),
        "retry_delay": lambda v: opt.seconds(name, "retry_delay", v, allow_zero=True),
        "backoff": lambda v: opt.backoff(name, v),
        "max_retry_delay": lambda v: opt.seconds(name, "max_retry_delay", v, allow_zero=True),
        "retry_on": lambda v: opt.retry_on(name, v),
        "timeout": lambda v: opt.seconds(name, "timeout", v, allow_zero=False),
        "dead_letter": lambda v: opt.flag(name, "dead_letter", v),
        "heartbeat_timeout": lambda v: opt.seconds(name, "heartbeat_timeout", v, allow_zero=False),
        "max_concurrent": lambda v: opt.count(
            name, "max_concurrent", v, minimum=1, allow_none=True
        ),
        "max_running": lambda v: opt.count(name, "max_running", v, minimum=1, allow_none=True),
        "on_shutdown": lambda v: opt.on_shutdown(name, v),
        "result_ttl": lambda v: _ttl(name, v),
        "atomic": lambda v: opt.flag(name, "atomic", v),
        "cron": lambda v: opt.cron(name, v),
        "interval": lambda v: opt.seconds(name, "interval", v, allow_zero=False),
        "meta": lambda v: opt.json_object(name, "meta", v),
    }
    for option, value in options.items():
        if option not in checks:
            close = difflib.get_close_matches(option, list(checks), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            opt.fail(name, option, f"is not a job option{hint}")
        out[option] = checks[option](value)
    check_combinations(name, func, out)
    return out


def _ttl(name: str, value: Any) -> timedelta | None:
    secs = opt.seconds(name, "result_ttl", value, allow_zero=True)
    return None if secs is None else timedelta(seconds=secs)


def check_combinations(name: str, func: Callable[..., Any], out: dict[str, Any]) -> None:
    if out.get("cron") is not None and out.get("interval") is not None:
        opt.fail(name, "cron", "and 'interval' cannot both be set", check_id="django_jobs.E012")
    if out.get("cron") is not None or out.get("interval") is not None:
        required = [
            p.name
            for p in inspect.signature(func).parameters.values()
            if p.default is p.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if required:
            opt.fail(
                name,
                "cron" if out.get("cron") else "interval",
                f"needs a function without required arguments; {func.__name__} requires "
                f"{', '.join(required)}",
                check_id="django_jobs.E012",
            )
    if out.get("atomic") and inspect.iscoroutinefunction(func):
        opt.fail(name, "atomic", "is only available for sync (def) functions, not async def")
