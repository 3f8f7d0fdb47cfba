"""``Definition``: one registered job, ``(name, version) -> callable + options``.

Its fields are the options, checked already (``@job`` and ``RecurringJob`` build it); its
properties derive what the worker reads (the setting where an option was left out); its
methods hand an enqueue to the enqueue service (the one import up, see ``.importlinter``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django_jobs.conf import jobs_settings
from django_jobs.retry import Backoff
from django_jobs.schedules import Cron

if TYPE_CHECKING:
    from django_jobs.enqueue import EnqueueRequest
    from django_jobs.models import Job

#: ``retry_delay`` and ``result_ttl`` left out: the setting's default (``None`` is a value).
_UNSET: Any = object()


@dataclass(eq=False)
class Definition:
    """A registered job definition. Calling it runs the function directly, in-process."""

    name: str
    version: int
    func: Callable[..., Any]
    kind: str = "function"  # "function" or "recurring"
    queue: str | None = None
    priority: int = 0
    max_retries: int | None = None
    retry_delay: float | None = _UNSET
    backoff: Backoff = Backoff.EXPONENTIAL
    max_retry_delay: float | None = None
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    timeout: float | None = None
    dead_letter: bool = False
    heartbeat_timeout: float | None = None
    max_concurrent: int | None = None
    max_running: int | None = None
    on_shutdown: str = "finish"
    result_ttl: timedelta | None = _UNSET
    atomic: bool = False
    run_mode: str | None = None  # "async", "thread" or "process"; None: effective_run_mode
    cron: Cron | None = None
    interval: float | None = None
    #: A recurring definition's runs: ``False`` runs each due tick without a Job row.
    durable: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    #: RecurringJob.max_retries: consecutive failures before the schedule is skipped.
    max_failures: int | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Definition {self.name} v{self.version}>"

    # --- derived ------------------------------------------------------------------------

    @property
    def is_async(self) -> bool:
        # Asked for every job a worker runs: worked out once per function.
        func = self.func
        known = self.__dict__.get("_async_func")
        if known is None or known[0] is not func:
            known = self.__dict__["_async_func"] = (func, inspect.iscoroutinefunction(func))
        return known[1]

    @property
    def effective_run_mode(self) -> str:
        """How a worker runs its jobs: ``run_mode``, else "async" for an ``async def``, else
        "process"."""
        if self.run_mode is not None:
            return self.run_mode
        return "async" if self.is_async else "process"

    @property
    def module(self) -> str:
        return getattr(self.func, "__module__", "") or ""

    @property
    def queue_name(self) -> str:
        return self.queue or jobs_settings.DEFAULT_QUEUE

    @property
    def retries(self) -> int:
        return jobs_settings.DEFAULT_MAX_RETRIES if self.max_retries is None else self.max_retries

    @property
    def max_attempts(self) -> int:
        return 1 + self.retries

    @property
    def effective_retry_delay(self) -> float | None:
        return jobs_settings.DEFAULT_RETRY_DELAY if self.retry_delay is _UNSET else self.retry_delay

    @property
    def effective_max_retry_delay(self) -> float:
        return (
            jobs_settings.DEFAULT_MAX_RETRY_DELAY
            if self.max_retry_delay is None
            else self.max_retry_delay
        )

    @property
    def effective_result_ttl(self) -> timedelta | None:
        return jobs_settings.DEFAULT_RESULT_TTL if self.result_ttl is _UNSET else self.result_ttl

    @property
    def is_recurring(self) -> bool:
        return self.cron is not None or self.interval is not None

    @property
    def schedule_max_failures(self) -> int | None:
        """Consecutive failures after which the schedule is skipped (``None``: never)."""
        return self.cron.max_failures if self.cron is not None else self.max_failures

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.func)

    # --- enqueue ------------------------------------------------------------------------

    def using(self, **options: Any) -> EnqueueRequest:
        """Per-call options, the option table's ``ENQUEUE`` ones: queue, priority, run_at, delay,
        key, on_conflict, meta, group_key, id."""
        from django_jobs.enqueue import EnqueueRequest

        return EnqueueRequest(self).using(**options)

    def enqueue(self, *args: Any, **kwargs: Any) -> Job:
        """Enqueue one job with these arguments; returns the ``Job`` row."""
        from django_jobs.enqueue import EnqueueRequest

        return EnqueueRequest(self).enqueue(*args, **kwargs)

    def enqueue_many(
        self, items: Iterable[Any], *, keys: Iterable[str | None] | None = None
    ) -> list[Job]:
        """Enqueue one job per item (a dict of keyword arguments, or a list of positional ones)."""
        from django_jobs.enqueue import EnqueueRequest

        return EnqueueRequest(self).enqueue_many(items, keys=keys)


def default_name(fn: Callable[..., Any]) -> str:
    """``module.qualname``: ``myapp.jobs.send_email``."""
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}"
