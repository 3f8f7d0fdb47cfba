"""``RecurringJob``: a class-based recurring job, registered by subclassing.

Its class attributes are options of the option table (place ``RECURRING``), each checked as
that place takes it: ``interval`` and ``timeout`` may be 0, and ``max_retries`` is the number
of failures in a row after which the schedule is skipped.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from django_jobs import options as opt
from django_jobs.exceptions import JobDefinitionError
from django_jobs.option_table import RECURRING, names
from django_jobs.registry.definition import Definition, default_name
from django_jobs.registry.store import registry
from django_jobs.registry.validate import check_identity, check_run_mode, checked_options


class RecurringJob:
    """A class-based recurring job, registered by subclassing (seed 000's cooperative jobs).

    ``interval``: seconds between runs (0: every worker loop iteration); ``max_retries``:
    consecutive failures before the schedule is skipped (0: unlimited); ``timeout``: seconds
    (0: none). Optional ``name``, ``version``, ``queue``, ``priority``, ``run_mode`` and
    ``durable`` (``False``: runs without a Job row). Set ``abstract = True`` on a base class
    that should not be registered itself.
    """

    interval: ClassVar[float] = 0
    max_retries: ClassVar[int] = 0
    timeout: ClassVar[float] = 0
    name: ClassVar[str | None] = None
    version: ClassVar[int] = 1
    queue: ClassVar[str | None] = None
    priority: ClassVar[int] = 0
    run_mode: ClassVar[str | None] = None
    durable: ClassVar[bool] = True
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
    attributes = {option: getattr(cls, option) for option in names(RECURRING)}
    clean = checked_options(def_name, attributes, RECURRING)
    check_identity(def_name, cls.version, cls.run)
    check_run_mode(def_name, cls.run, clean["run_mode"])
    return Definition(
        name=def_name,
        version=cls.version,
        func=_runner(cls),
        kind="recurring",
        queue=clean["queue"],
        priority=clean["priority"],
        max_retries=0,
        retry_delay=None,
        timeout=clean["timeout"] or None,
        interval=clean["interval"],
        cron=None,
        max_failures=clean["max_retries"] or None,
        run_mode=clean["run_mode"],
        durable=clean["durable"],
    )


def _runner(cls: type[RecurringJob]) -> Callable[..., Any]:
    """A function that runs a new instance's ``run()``, named like the class."""
    if inspect.iscoroutinefunction(cls.run):

        async def run_async() -> Any:
            return await cls().run()

        runner: Callable[..., Any] = run_async
    else:

        def run_sync() -> Any:
            return cls().run()

        runner = run_sync
    runner.__module__, runner.__qualname__ = cls.__module__, cls.__qualname__
    return runner
