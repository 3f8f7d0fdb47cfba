"""Job definitions: ``(name, version) -> callable + options``, ``@job`` and ``RecurringJob``."""

from __future__ import annotations

import contextlib
import difflib
import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from django_jobs import options as opt
from django_jobs.conf import jobs_settings
from django_jobs.exceptions import JobDefinitionError, UnknownJob
from django_jobs.retry import Backoff
from django_jobs.schedules import Cron

if TYPE_CHECKING:
    from django_jobs.enqueue import EnqueueRequest
    from django_jobs.models import Job

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
    cron: Cron | None = None
    interval: float | None = None
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
        return inspect.iscoroutinefunction(self.func)

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
        """Per-call options: queue, priority, run_at, delay, key, on_conflict, meta, group_key."""
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


def _validated(
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
    _check_combinations(name, func, out)
    return out


def _ttl(name: str, value: Any) -> timedelta | None:
    secs = opt.seconds(name, "result_ttl", value, allow_zero=True)
    return None if secs is None else timedelta(seconds=secs)


def _check_combinations(name: str, func: Callable[..., Any], out: dict[str, Any]) -> None:
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


class Registry:
    """All definitions known to this process, by ``(name, version)``."""

    def __init__(self) -> None:
        self._definitions: dict[tuple[str, int], Definition] = {}
        #: Errors met while importing ``jobs.py`` modules: ``(module, JobDefinitionError)``.
        self.errors: list[tuple[str, JobDefinitionError]] = []
        self._collecting = False

    @contextlib.contextmanager
    def collecting_errors(self) -> Iterator[None]:
        """While discovery imports a ``jobs.py``, a bad definition is kept in ``errors`` (for
        ``manage.py check``) instead of raised, so the module's other definitions register."""
        previous, self._collecting = self._collecting, True
        try:
            yield
        finally:
            self._collecting = previous

    def keep_error(self, module: str, exc: JobDefinitionError) -> bool:
        """Keep ``exc`` when errors are being collected; ``False`` when it must be raised."""
        if self._collecting:
            self.errors.append((module, exc))
        return self._collecting

    def register(self, definition: Definition) -> Definition:
        ident = (definition.name, definition.version)
        existing = self._definitions.get(ident)
        if existing is not None and existing.func is not definition.func:
            if _same_source(existing.func, definition.func):
                # The same module imported twice (say, by path and as __main__): keep one.
                self._definitions[ident] = definition
                return definition
            raise JobDefinitionError(
                f"job definition {definition.name!r} version {definition.version} is registered "
                f"twice: by {_where(existing.func)} and by {_where(definition.func)}",
                check_id="django_jobs.E011",
            )
        self._definitions[ident] = definition
        return definition

    def unregister(self, name: str, version: int | None = None) -> None:
        for ident in [i for i in self._definitions if i[0] == name and version in (None, i[1])]:
            del self._definitions[ident]

    def find(self, name: str, version: int | None = None) -> Definition | None:
        if version is not None:
            return self._definitions.get((name, version))
        versions = [d for (n, _), d in self._definitions.items() if n == name]
        return max(versions, key=lambda d: d.version) if versions else None

    def get(self, name: str, version: int | None = None) -> Definition:
        found = self.find(name, version) if isinstance(name, str) else None
        if found is None:
            which = f"{name!r}" if version is None else f"{name!r} version {version}"
            known = self.versions(name) if isinstance(name, str) else []
            hint = f" (registered versions: {known})" if known else ""
            raise UnknownJob(f"no job definition {which} is registered{hint}")
        return found

    def versions(self, name: str) -> list[int]:
        return sorted(v for (n, v) in self._definitions if n == name)

    def all(self) -> list[Definition]:
        return sorted(self._definitions.values(), key=lambda d: (d.name, d.version))

    def __contains__(self, ident: object) -> bool:
        return ident in self._definitions


def _where(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', func)}"


def _same_source(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    return bool(
        code_a
        and code_b
        and code_a.co_filename == code_b.co_filename
        and code_a.co_firstlineno == code_b.co_firstlineno
    )


registry = Registry()


def job(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    version: int = 1,
    **options: Any,
) -> Any:
    """Register a function as a job definition: ``@job`` or ``@job(queue="reports", ...)``.

    Every option is checked here, at import; a bad one raises ``JobDefinitionError`` naming
    the definition and the option. See docs/reference/definitions.md for the options.
    """

    def register(fn: Callable[..., Any]) -> Definition | InvalidDefinition:
        try:
            def_name = opt.definition_name(name if name is not None else default_name(fn))
            clean = _validated(def_name, version, fn, options)
            definition = Definition(name=def_name, version=version, func=fn, **clean)
            functools.update_wrapper(definition, fn, updated=())  # type: ignore[arg-type]
            return registry.register(definition)
        except JobDefinitionError as exc:
            if not registry.keep_error(getattr(fn, "__module__", "") or "?", exc):
                raise
            return InvalidDefinition(fn, exc)

    return register if func is None else register(func)


class InvalidDefinition:
    """Stands in for a ``@job`` function whose definition is kept in ``registry.errors``.

    Calling it runs the function; enqueueing raises the definition's error.
    """

    def __init__(self, func: Callable[..., Any], error: JobDefinitionError) -> None:
        self.func, self.error = func, error
        functools.update_wrapper(self, func, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise JobDefinitionError(f"{self.error} (not registered)", check_id=self.error.check_id)

    using = enqueue = enqueue_many = _refuse


def default_name(fn: Callable[..., Any]) -> str:
    """``module.qualname``: ``myapp.jobs.send_email``."""
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}"


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
    clean = _validated(
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
