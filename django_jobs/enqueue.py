"""Enqueueing: validate everything first, then write all rows with one INSERT.

Nothing is written when any argument or option is wrong: every check runs before the
database is touched, and the writes happen in one transaction (a savepoint when the caller
already has one, so a caller's rollback removes the jobs too).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from django_jobs import db, signals
from django_jobs import options as opt
from django_jobs.conf import jobs_settings
from django_jobs.exceptions import DuplicateJob, JobsError, describe
from django_jobs.ids import parse_job_id
from django_jobs.models import Job, Queue
from django_jobs.states import ACTIVE_STATES, State

if TYPE_CHECKING:
    from django_jobs.registry import Definition

ON_CONFLICT = ("return", "raise", "replace")
NUL = "\\u0000"  # how JSON spells the NUL character, which PostgreSQL cannot store


class InvalidEnqueue(JobsError, ValueError):
    """An enqueue option has a wrong value; the message names the option."""


@dataclass(frozen=True)
class EnqueueOptions:
    queue: str | None = None
    priority: int | None = None
    run_at: datetime | None = None
    delay: timedelta | None = None
    key: str | None = None
    on_conflict: str = "return"
    meta: dict[str, Any] | None = None
    group_key: str | None = None
    id: uuid.UUID | None = None  # a client-chosen id (UUID or ULID), for one job


def _bad(option: str, problem: str) -> InvalidEnqueue:
    return InvalidEnqueue(f"enqueue option {option!r} {problem}")


def _check_run_at(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise _bad("run_at", f"must be a datetime, got {describe(value)}")
    if settings.USE_TZ and timezone.is_naive(value):
        raise _bad("run_at", f"must be timezone-aware when USE_TZ is on, got {value!r}")
    if not settings.USE_TZ and timezone.is_aware(value):
        return timezone.make_naive(value)
    return value


MAX_DELAY = timedelta(days=36_525)  # a hundred years: a date any database can store


def _check_delay(value: Any) -> timedelta:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or not -MAX_DELAY.total_seconds() <= value <= MAX_DELAY.total_seconds():
            raise _bad("delay", f"must be from 0 seconds to 100 years, got {value!r}")
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta):
        raise _bad("delay", f"must be a timedelta or a number of seconds, got {describe(value)}")
    if value < timedelta(0):
        raise _bad("delay", f"must not be negative, got {value}")
    if value > MAX_DELAY:
        raise _bad("delay", f"must be at most 100 years, got {value}")
    return value


def _check_id(value: Any) -> uuid.UUID:
    try:
        return parse_job_id(value)
    except ValueError as exc:
        raise _bad("id", f"must be a UUID or a ULID: {exc}") from None


def _check_text(option: str, value: Any, limit: int = 255) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise _bad(
            option,
            f"must be a non-empty string of at most {limit} characters, got {describe(value)}",
        )
    return value


def _check_with(problem_of: Any) -> Any:
    def check(option: str, value: Any) -> Any:
        problem = problem_of(value)
        if problem:
            raise _bad(option, problem)
        return value

    return check


_CHECKS: dict[str, Any] = {
    "queue": _check_with(opt.queue_problem),
    "priority": _check_with(opt.priority_problem),
    "run_at": lambda option, v: _check_run_at(v),
    "delay": lambda option, v: _check_delay(v),
    "key": _check_text,
    "group_key": _check_text,
    "meta": _check_with(opt.json_problem),
    "id": lambda option, v: _check_id(v),
    "on_conflict": _check_with(
        lambda v: (
            None if v in ON_CONFLICT else f"must be one of {', '.join(ON_CONFLICT)}, got {v!r}"
        )
    ),
}


def check_options(**options: Any) -> dict[str, Any]:
    """Validate per-call options; return them normalised. Raises ``InvalidEnqueue``.

    ``None`` means "the definition's default" for every option but ``on_conflict``.
    """
    clean: dict[str, Any] = {}
    for option, value in options.items():
        if option not in _CHECKS:
            raise _bad(option, f"is unknown; the options are {', '.join(sorted(_CHECKS))}")
        if value is None and option != "on_conflict":
            clean[option] = None
            continue
        clean[option] = _CHECKS[option](option, value)
    if clean.get("run_at") is not None and clean.get("delay") is not None:
        raise _bad("delay", "and 'run_at' cannot both be given")
    return clean


class EnqueueRequest:
    """A definition with per-call options: ``send_email.using(queue="bulk").enqueue(...)``."""

    def __init__(self, definition: Definition, options: EnqueueOptions | None = None) -> None:
        self.definition = definition
        self.options = options or EnqueueOptions()

    def using(self, **options: Any) -> EnqueueRequest:
        clean = check_options(**options)
        # The later of run_at / delay wins when calls are chained.
        if clean.get("delay") is not None:
            clean["run_at"] = None
        if clean.get("run_at") is not None:
            clean["delay"] = None
        return EnqueueRequest(self.definition, replace(self.options, **clean))

    def enqueue(self, *args: Any, **kwargs: Any) -> Job:
        return self._enqueue([(args, kwargs)], [self.options.key])[0]

    def enqueue_many(
        self, items: Iterable[Any], *, keys: Iterable[str | None] | None = None
    ) -> list[Job]:
        calls = [_as_call(self.definition, i, item) for i, item in enumerate(items)]
        if self.options.id is not None and len(calls) > 1:
            raise _bad("id", "names one job; enqueue_many cannot give it to several")
        key_list = _keys_for(calls, keys, self.options.key)
        return self._enqueue(calls, key_list) if calls else []

    def _enqueue(
        self, calls: list[tuple[Sequence[Any], dict[str, Any]]], keys: list[str | None]
    ) -> list[Job]:
        jobs = [self.build(args, kwargs, key) for (args, kwargs), key in zip(calls, keys)]
        alias = jobs_settings.DATABASE
        result = write_jobs(jobs, alias, self.options.on_conflict)
        after_enqueue(result, alias)
        return result

    def build(self, args: Sequence[Any], kwargs: dict[str, Any], key: str | None) -> Job:
        d, o = self.definition, self.options
        args_json, kwargs_json = check_arguments(d, args, kwargs)
        now = timezone.now()
        run_at = o.run_at or (now + o.delay if o.delay else now)
        meta = {**d.meta, **(o.meta or {})}
        job = Job(
            name=d.name,
            version=d.version,
            queue=o.queue or d.queue_name,
            state=State.SCHEDULED if run_at > now else State.QUEUED,
            priority=d.priority if o.priority is None else o.priority,
            args=list(args),
            kwargs=dict(kwargs),
            meta=meta,
            key=key,
            group_key=o.group_key,
            run_at=run_at,
            created_at=now,
            max_attempts=d.max_attempts,
        )
        if o.id is not None:
            job.id, job._chosen_id = o.id, True  # type: ignore[attr-defined]
        job._json_args, job._json_kwargs = args_json, kwargs_json  # type: ignore[attr-defined]
        return job


def _as_call(definition: Definition, index: int, item: Any) -> tuple[Sequence[Any], dict[str, Any]]:
    if isinstance(item, dict):
        return (), item
    if isinstance(item, (list, tuple)):
        return item, {}
    raise TypeError(
        f"enqueue_many item {index} for {definition.name}: expected a dict of keyword arguments "
        f"or a list of positional arguments, got {describe(item)}"
    )


def _keys_for(
    calls: list[Any], keys: Iterable[str | None] | None, shared: str | None
) -> list[str | None]:
    if keys is None:
        if shared is not None and len(calls) > 1:
            raise _bad("key", "applies to one job; give enqueue_many(..., keys=[...]) instead")
        return [shared] * len(calls)
    key_list = [_check_text("keys", k) for k in keys]
    if len(key_list) != len(calls):
        raise _bad("keys", f"has {len(key_list)} entries for {len(calls)} items")
    return key_list


def check_arguments(
    definition: Definition, args: Sequence[Any], kwargs: dict[str, Any]
) -> tuple[str, str]:
    """Bind to the function's signature and serialise as JSON; ``TypeError`` names the culprit."""
    try:
        definition.signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(
            f"arguments for {definition.name} do not match its signature: {exc}"
        ) from None
    try:
        texts = json.dumps(list(args), allow_nan=False), json.dumps(kwargs, allow_nan=False)
        if not any(NUL in text for text in texts):
            return texts
    except (TypeError, ValueError):
        pass
    bound = definition.signature.bind(*args, **kwargs)
    for param, value in bound.arguments.items():
        try:
            if NUL in json.dumps(value, allow_nan=False):
                raise ValueError(
                    "it contains a NUL character (\\x00), which databases cannot store"
                )
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"argument {param!r} of {definition.name} is not JSON-serialisable "
                f"({exc}); job arguments must be JSON: str, int, float, bool, None, list, dict"
            ) from None
    raise TypeError(f"the arguments of {definition.name} are not JSON-serialisable")


# --- writing ------------------------------------------------------------------------------

_known_queues: dict[str, set[str]] = {}


def ensure_queues(alias: str, names: Iterable[str]) -> None:
    """Create ``Queue`` rows on first use (once per process per queue name)."""
    known = _known_queues.setdefault(alias, set())
    missing = sorted(set(names) - known)
    if not missing:
        return
    Queue.objects.using(alias).bulk_create([Queue(name=n) for n in missing], ignore_conflicts=True)
    transaction.on_commit(lambda: known.update(missing), using=alias)


def forget_queues() -> None:
    """Forget which queues exist (tests that flush the database call this)."""
    _known_queues.clear()


def write_jobs(
    jobs: list[Job], alias: str, on_conflict: str, *, skip_conflicts: bool = False
) -> list[Job]:
    """Insert ``jobs`` atomically; resolve key conflicts per ``on_conflict``.

    Returns one job per input position: the inserted row, or the active job holding its key.
    ``skip_conflicts``: rows that hit any unique constraint are dropped (schedule ticks that
    another worker already enqueued), and only the inserted rows are returned.
    A plain enqueue is a single INSERT (plus NOTIFY): no explicit transaction is opened for
    it, since one statement is atomic on its own.
    """
    connection = connections[alias]
    ops = db.for_connection(connection)
    chosen = [j.id for j in jobs if getattr(j, "_chosen_id", False)]
    if chosen and Job.objects.using(alias).filter(pk__in=chosen).exists():
        raise DuplicateJob(f"a job with id {chosen[0]} exists already")
    keyed = any(j.key is not None for j in jobs)
    queues = {j.queue for j in jobs}
    known = queues <= _known_queues.get(alias, set())
    single_statement = not keyed and not skip_conflicts and known
    with transaction.atomic(using=alias) if not single_statement else _nothing():
        ensure_queues(alias, queues)
        if keyed and on_conflict == "replace":
            _cancel_waiting([j.key for j in jobs if j.key is not None], alias)
        inserted = ops.insert_jobs(connection, jobs, ignore_conflicts=keyed or skip_conflicts)
        result = jobs
        if skip_conflicts:
            result = [j for j in jobs if j.id in inserted]
        elif len(inserted) < len(jobs):
            result = _resolve_conflicts(jobs, inserted, alias, on_conflict, ops)
        ops.notify(
            connection,
            sorted({j.queue for j in jobs if j.id in inserted and j.state == State.QUEUED}),
        )
    for job in jobs:
        job._state.adding, job._state.db = False, alias
        job._inserted = job.id in inserted  # type: ignore[attr-defined]
    return result


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


def _cancel_waiting(keys: list[str], alias: str) -> None:
    now = timezone.now()
    ttl = jobs_settings.DEFAULT_RESULT_TTL
    Job.objects.using(alias).filter(key__in=keys, state__in=[State.QUEUED, State.SCHEDULED]).update(
        state=State.CANCELLED,
        finished_at=now,
        expires_at=None if ttl is None else now + ttl,
        last_error="replaced by a newer job with the same key",
    )


def _resolve_conflicts(
    jobs: list[Job], inserted: set[Any], alias: str, on_conflict: str, ops: Any
) -> list[Job]:
    """Map every row that lost its key to the active job holding it (or raise).

    A holder may finish between our INSERT and this SELECT, freeing its key: such rows are
    inserted again (a few rounds at most; each round needs a job to finish in between).
    """
    batch = {j.key: j for j in reversed(jobs) if j.id in inserted and j.key is not None}
    holders: dict[str | None, Job] = dict(batch)
    for _ in range(5):
        lost = [j for j in jobs if j.id not in inserted and j.key not in holders]
        if not lost:
            break
        found = Job.objects.using(alias).filter(
            key__in={j.key for j in lost}, state__in=ACTIVE_STATES
        )
        holders.update({j.key: j for j in found})
        retry = [j for j in lost if j.key not in holders]
        if retry:
            inserted |= ops.insert_jobs(connections[alias], retry, ignore_conflicts=True)
            holders.update({j.key: j for j in retry if j.id in inserted})
    lost = [j for j in jobs if j.id not in inserted]
    if lost and on_conflict in ("raise", "replace"):
        holder = holders.get(lost[0].key)
        if holder is not None and holder.id in inserted:
            raise DuplicateJob(f"key {lost[0].key!r} is given twice in this enqueue_many")
        what = "cannot be replaced: it is running" if on_conflict == "replace" else "exists"
        raise DuplicateJob(
            f"an active job with key {lost[0].key!r} {what} (job {getattr(holder, 'pk', '?')})",
            existing=holder,
        )
    return [j if j.id in inserted else holders[j.key] for j in jobs]


def after_enqueue(jobs: list[Job], alias: str) -> None:
    """Send ``job_enqueued`` after commit; in inline mode, run the new jobs at once."""
    fresh = [j for j in jobs if getattr(j, "_inserted", False)]
    if signals.job_enqueued.has_listeners(Job):

        def send() -> None:
            for job in fresh:
                signals.job_enqueued.send_robust(Job, job=job)

        transaction.on_commit(send, using=alias)
    if jobs_settings.INLINE and fresh:
        from django_jobs.testing import run_inline

        transaction.on_commit(lambda: run_inline(fresh), using=alias)
