"""``RecurringJob``: a class-based recurring job, registered by subclassing."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from django_jobs import options as opt
from django_jobs.exceptions import JobDefinitionError
from django_jobs.registry.definition import Definition, default_name
from django_jobs.registry.store import registry
from django_jobs.registry.validate import validated


class RecurringJob:
    """A class-based recurring job, registered by subclassing (seed 000's cooperative jobs).

    ``interval``: seconds between runs (0: every worker loop iteration); ``max_retries``:
    consecutive failures before the schedule is skipped (0: unlimited); ``timeout``: seconds
    (0: none). Optional ``name``, ``version``, ``queue``, ``priority``. Set ``abstract = True``
    on a base class that should not be registered itself.
    """

    interval: ClassVar[float] = 0
    max_retries: ClassVar[int] = 0
    timeout: ClassVar[float] = 0
    name: ClassVar[str | None] = None
    version: ClassVar[int] = 1
    queue: ClassVar[str | None] = None
    priority: ClassVar[int] = 0
    abstract: ClassVar[bool] = True
    definition: ClassVar[Definition]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        try:
            cls.definition = registry.register(_recurring_definition(cls))
        except JobDefinitionError as exc:
            if not registry.keep_error(cls.__module__, exc):
                raise

    def run(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define run()")


def _recurring_definition(cls: type[RecurringJob]) -> Definition:
    def_name = opt.definition_name(cls.name or default_name(cls))
    interval = opt.seconds(def_name, "interval", cls.interval, allow_zero=True, allow_none=False)
    max_failures = opt.count(def_name, "max_retries", cls.max_retries, minimum=0)
    timeout = opt.seconds(def_name, "timeout", cls.timeout, allow_zero=True, allow_none=False)
    clean = validated(
        def_name, cls.version, cls.run, {"queue": cls.queue, "priority": cls.priority}
    )
    if inspect.iscoroutinefunction(cls.run):

        async def run_async() -> Any:
            return await cls().run()

        runner: Callable[..., Any] = run_async
    else:

        def run_sync() -> Any:
            return cls().run()

        runner = run_sync
    runner.__module__, runner.__qualname__ = cls.__module__, cls.__qualname__
    return Definition(
        name=def_name,
        version=cls.version,
        func=runner,
        kind="recurring",
        max_retries=0,
        retry_delay=None,
        timeout=timeout or None,
        interval=interval,
        cron=None,
        max_failures=max_failures or None,
        **clean,
    )
