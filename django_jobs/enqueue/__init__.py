"""Enqueueing: validate everything first, then write all rows with one INSERT.

Nothing is written when any argument or option is wrong: every check runs before the
database is touched. A plain enqueue is ONE statement (the INSERT, with its NOTIFY on
PostgreSQL and, the first time this process uses a queue, its ``Queue`` row), atomic on its
own; an enqueue that may write with more than one statement (keys in ``enqueue_many``,
``on_conflict="replace"``, on SQLite a queue without its row yet) runs in a transaction (a
savepoint when the caller already has one, so a caller's rollback removes the jobs too).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Sequence
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
from django_jobs.ids import new_job_ids, parse_job_id
from django_jobs.models import Job, Queue
from django_jobs.states import ACTIVE_STATES, State

if TYPE_CHECKING:
    from django_jobs.registry import Definition

ON_CONFLICT = ("return", "raise", "replace")
NUL = "\\u0000"  # how JSON spells the NUL character, which PostgreSQL cannot store
_strict_json = json.JSONEncoder(allow_nan=False).encode  # json.dumps(..., allow_nan=False)


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
    # Messages show the value as given: seconds as the number, a negative timedelta as
    # "-0:00:05" (str() would say "-1 day, 23:59:55").
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or not -MAX_DELAY.total_seconds() <= value <= MAX_DELAY.total_seconds():
            raise _bad("delay", f"must be from 0 seconds to 100 years, got {value!r}")
        shown, value = repr(value), timedelta(seconds=value)
    elif isinstance(value, timedelta):
        shown = f"-{-value}" if value < timedelta(0) else str(value)
    else:
        raise _bad("delay", f"must be a timedelta or a number of seconds, got {describe(value)}")
    if value < timedelta(0):
        raise _bad("delay", f"must not be negative, got {shown}")
    if value > MAX_DELAY:
        raise _bad("delay", f"must be at most 100 years, got {shown}")
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
    "meta": _check_with(opt.json_problem),  # also refuses non-string keys, at any depth
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
        """One job per item, all or none; more than ``ENQUEUE_MANY_CHUNK`` items are written
        in chunks of that many rows, in one transaction (a savepoint inside the caller's)."""
        calls = [_as_call(self.definition, i, item) for i, item in enumerate(items)]
        key_list = _keys_for(calls, keys, self.options.key)
        if len(calls) <= ENQUEUE_MANY_CHUNK:
            return self._enqueue(calls, key_list, many=True) if calls else []
        alias = jobs_settings.DATABASE
        result: list[Job] = []
        ids = new_job_ids(len(calls))  # one run of increasing ids, as for a single INSERT
        with transaction.atomic(using=alias):
            for start in range(0, len(calls), ENQUEUE_MANY_CHUNK):
                end = start + ENQUEUE_MANY_CHUNK
                jobs = self.build_many(
                    calls[start:end],
                    key_list[start:end],
                    many=True,
                    first=start,
                    ids=ids[start:end],
                )
                result += write_jobs(jobs, alias, self.options.on_conflict)
        after_enqueue(result, alias)
        return result

    def _enqueue(
        self, calls: list[Call], keys: list[str | None], *, many: bool = False
    ) -> list[Job]:
        jobs = self.build_many(calls, keys, many=many)
        alias = jobs_settings.DATABASE
        result = write_jobs(jobs, alias, self.options.on_conflict)
        after_enqueue(result, alias)
        return result

    def build(self, args: Sequence[Any], kwargs: dict[str, Any], key: str | None) -> Job:
        """One unsaved ``Job`` for these arguments (validated; nothing is written)."""
        return self.build_many([(args, kwargs)], [key])[0]

    def build_many(
        self,
        calls: list[Call],
        keys: list[str | None],
        *,
        many: bool = False,
        first: int = 0,
        ids: list[Any] | None = None,
    ) -> list[Job]:
        """Validate every call, then make one unsaved ``Job`` per call.

        The per-row work is kept to what differs between rows (id, arguments, key): the
        rest is worked out once per batch into a row template, and each ``Job`` is made from
        a copy of it with positional arguments, the model's cheapest constructor.
        """
        d, o = self.definition, self.options
        if o.id is not None and len(calls) > 1:
            raise _bad("id", "names one job; enqueue_many cannot give it to several")
        stored = check_calls(d, calls, many=many, first=first)
        now = timezone.now()
        run_at = o.run_at or (now + o.delay if o.delay else now)
        meta = json.loads(_strict_json({**d.meta, **(o.meta or {})}))  # as stored: lists
        template = _row_template(
            name=d.name,
            version=d.version,
            queue=o.queue or d.queue_name,
            state=State.SCHEDULED if run_at > now else State.QUEUED,
            priority=d.priority if o.priority is None else o.priority,
            group_key=o.group_key,
            run_at=run_at,
            created_at=now,
            max_attempts=d.max_attempts,
        )
        if ids is None:
            ids = [o.id] if o.id is not None else new_job_ids(len(calls))
        at = _field_positions()
        i_id, i_args, i_kwargs, i_meta, i_key = (
            at[name] for name in ("id", "args", "kwargs", "meta", "key")
        )
        jobs = []
        for (args, kwargs), key, pk in zip(stored, keys, ids):
            row = template.copy()
            row[i_id], row[i_args], row[i_kwargs] = pk, args, kwargs
            row[i_meta], row[i_key] = dict(meta), key
            jobs.append(Job(*row))
        if o.id is not None:
            jobs[0]._chosen_id = True  # type: ignore[attr-defined]
        return jobs


Call = tuple[Sequence[Any], dict[str, Any]]

#: Rows per INSERT of a large ``enqueue_many``: a million items make 200 statements of 5,000
#: rows (one JSON parameter each), not one statement holding every row.
ENQUEUE_MANY_CHUNK = 5_000


def _row_template(**values: Any) -> list[Any]:
    """``Job``'s positional arguments: ``values``, the model's defaults for other fields."""
    row, at = list(_default_row()), _field_positions()
    for name, value in values.items():
        row[at[name]] = value
    return row


@functools.cache
def _field_positions() -> dict[str, int]:
    return {f.attname: i for i, f in enumerate(Job._meta.concrete_fields)}


@functools.cache
def _default_row() -> tuple[Any, ...]:
    """Constant defaults (NULL, 0, ""); fields with a callable default are always given."""
    return tuple(
        None if callable(f.default) else f.get_default() for f in Job._meta.concrete_fields
    )


def _as_call(definition: Definition, index: int, item: Any) -> tuple[Sequence[Any], dict[str, Any]]:
    if isinstance(item, dict):
        return (), item
    if isinstance(item, (list, tuple)):
        return item, {}
    raise TypeError(
        f"enqueue_many item {index} for {definition.name}: expected a dict of keyword arguments "
        f"or a list of positional arguments, got {describe(item)}"
    )


def named_call(name: str, args: Any, kwargs: Any) -> Call:
    """``Job.enqueue``'s ``args`` and ``kwargs``, checked: a string is not a list of arguments.

    Unpacked as they are, ``args="a@x"`` would become three positional arguments and
    ``args={"to": "a@x"}`` the single argument ``"to"``.
    """
    if args is None:
        args = ()
    elif not isinstance(args, (list, tuple)):
        raise TypeError(
            f"Job.enqueue({name!r}): 'args' must be a list or tuple of positional arguments, "
            f"got {describe(args)}"
        )
    if kwargs is None:
        kwargs = {}
    elif not isinstance(kwargs, dict):
        raise TypeError(
            f"Job.enqueue({name!r}): 'kwargs' must be a dict of keyword arguments, "
            f"got {describe(kwargs)}"
        )
    return args, kwargs


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


def check_calls(
    definition: Definition, calls: list[Call], *, many: bool = False, first: int = 0
) -> list[Any]:
    """Every call fits the function's signature and is JSON; ``TypeError`` names the culprit.

    Returns each call's ``[args, kwargs]`` as the database will hold them (the JSON read
    back: a tuple is a list), so that the returned ``Job`` holds what the job receives.

    Whether arguments bind depends only on how many positional ones there are and on the
    keyword names, so each such shape is bound once per definition (``_binding_problem``).
    The JSON check is one ``json.dumps`` of the whole batch, read back with ``json.loads``:
    when that gives the same values, nothing was lost. Only a batch that fails it is
    checked call by call, to name the item and the argument: a value JSON refuses, or a
    dict key that is not a string (JSON would make ``{1: "a"}`` into ``{"1": "a"}``).
    A batch whose only change is tuples that became lists is accepted.
    """
    for index, (args, kwargs) in enumerate(calls, first):
        problem = _binding_problem(definition, len(args), tuple(kwargs))
        if problem is not None:
            where = f"enqueue_many item {index}: " if many else ""
            raise TypeError(
                f"{where}arguments for {definition.name} do not match its signature: {problem}"
            )
    stored = _read_back(calls)
    if stored is not None and stored == [[list(args), kwargs] for args, kwargs in calls]:
        return stored
    for index, (args, kwargs) in enumerate(calls, first):
        try:
            check_arguments(definition, args, kwargs)
        except TypeError as exc:
            if many:
                raise TypeError(f"enqueue_many item {index}: {exc}") from None
            raise
    if stored is not None:  # nothing but tuples, which JSON keeps as lists
        return stored
    raise TypeError(f"the arguments of {definition.name} are not JSON-serialisable")


def _read_back(calls: list[Call]) -> list[Any] | None:
    """The calls as the database would give them back, or ``None`` when it cannot store them."""
    try:
        text = _strict_json(calls)
    except (TypeError, ValueError):
        return None
    return None if NUL in text else json.loads(text)


@functools.lru_cache(maxsize=1024)
def _binding_problem(definition: Definition, positional: int, names: tuple[Any, ...]) -> str | None:
    """Why ``positional`` arguments and keyword ``names`` do not bind, or ``None``."""
    try:
        definition.signature.bind(*([None] * positional), **dict.fromkeys(names))
    except TypeError as exc:
        return str(exc)
    return None


def check_arguments(
    definition: Definition, args: Sequence[Any], kwargs: dict[str, Any]
) -> tuple[str, str]:
    """Bind to the function's signature and serialise as JSON; ``TypeError`` names the culprit.

    Returns the JSON texts of ``args`` and ``kwargs``. A value is refused when JSON refuses
    it, when it holds a NUL character, or when a dict in it has a key that is not a string
    (the message gives the dict's path: ``argument 'data' ... the dict at data['rows'][0]``).
    """
    try:
        bound = definition.signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(
            f"arguments for {definition.name} do not match its signature: {exc}"
        ) from None
    for param, value in bound.arguments.items():
        problem = opt.key_problem(value, param)
        if problem is None:
            try:
                if NUL in json.dumps(value, allow_nan=False):
                    problem = "it contains a NUL character (\\x00), which databases cannot store"
            except (TypeError, ValueError) as exc:
                problem = str(exc)
        if problem is not None:
            raise TypeError(
                f"argument {param!r} of {definition.name} is not JSON-serialisable "
                f"({problem}); job arguments must be JSON: str, int, float, bool, None, list, dict"
            )
    try:
        return json.dumps(list(args), allow_nan=False), json.dumps(kwargs, allow_nan=False)
    except (TypeError, ValueError):
        raise TypeError(f"the arguments of {definition.name} are not JSON-serialisable") from None


# --- writing ------------------------------------------------------------------------------

_known_queues: dict[str, set[str]] = {}


def ensure_queues(alias: str, names: Iterable[str]) -> None:
    """Create ``Queue`` rows on first use (once per process per queue name)."""
    missing = sorted(set(names) - _known_queues.get(alias, set()))
    if missing:
        Queue.objects.using(alias).bulk_create(
            [Queue(name=n) for n in missing], ignore_conflicts=True
        )
        remember_queues(alias, missing)


def remember_queues(alias: str, names: list[str]) -> None:
    """Know from the commit on that these queues have their rows (never after a rollback)."""
    if names:
        known = _known_queues.setdefault(alias, set())
        transaction.on_commit(lambda: known.update(names), using=alias)


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

    The INSERT also wakes the workers (NOTIFY on PostgreSQL, in the same statement). No
    explicit transaction is opened when that one statement is all that writes: it has no
    key, or is a single keyed row that replaces nothing (after a conflict nothing was
    written, so looking up the holder, and inserting again if it finished meanwhile, needs
    no transaction around it). The ``Queue`` rows of queues this process has not seen yet
    (``new``) are where the backend allows part of that statement (``QUEUE_ROWS``):

    * ``"created"`` (PostgreSQL): the INSERT creates the missing rows itself, in a CTE;
    * ``"required"`` (SQLite): the INSERT writes only when every row exists already; when it
      wrote nothing, the rows are created and the jobs inserted in a transaction;
    * none (the ORM path): the rows are created first, in a transaction with the jobs.

    A keyed enqueue with ``on_conflict="raise"`` on a new queue is also written in a
    transaction, so that its ``DuplicateJob`` leaves no ``Queue`` row behind.
    """
    connection = connections[alias]
    ops = db.for_connection(connection)
    chosen = [j.id for j in jobs if getattr(j, "_chosen_id", False)]
    if chosen and Job.objects.using(alias).filter(pk__in=chosen).exists():
        raise DuplicateJob(f"a job with id {chosen[0]} exists already")
    keyed = any(j.key is not None for j in jobs)
    new = sorted({j.queue for j in jobs} - _known_queues.get(alias, set()))
    queue_rows = getattr(ops, "QUEUE_ROWS", None)
    one_statement = not skip_conflicts and (
        not keyed or (len(jobs) == 1 and on_conflict != "replace")
    )
    if new and (queue_rows is None or (keyed and on_conflict == "raise")):
        one_statement = False
    inserted = None
    if one_statement:
        inserted = ops.insert_jobs(connection, jobs, ignore_conflicts=keyed, new_queues=new)
        if new and not inserted and queue_rows == "required":
            inserted = None  # a Queue row is missing (or the key is taken): see below
        else:
            result = _outcome(jobs, inserted, alias, on_conflict, ops, skip_conflicts)
    if inserted is None:
        with transaction.atomic(using=alias):
            if queue_rows != "created":
                ensure_queues(alias, new)
            if keyed and on_conflict == "replace":
                _cancel_waiting([j.key for j in jobs if j.key is not None], alias)
            inserted = ops.insert_jobs(
                connection,
                jobs,
                ignore_conflicts=keyed or skip_conflicts,
                new_queues=new if queue_rows == "created" else (),
            )
            result = _outcome(jobs, inserted, alias, on_conflict, ops, skip_conflicts)
    remember_queues(alias, new)
    for job in jobs:
        job._state.adding, job._state.db = False, alias
        job._inserted = job.id in inserted  # type: ignore[attr-defined]
    return result


def _outcome(
    jobs: list[Job],
    inserted: set[Any],
    alias: str,
    on_conflict: str,
    ops: Any,
    skip_conflicts: bool,
) -> list[Job]:
    """The jobs ``write_jobs`` returns, once ``inserted`` (the ids written) is known."""
    if skip_conflicts:
        return [j for j in jobs if j.id in inserted]
    if len(inserted) < len(jobs):
        return _resolve_conflicts(jobs, inserted, alias, on_conflict, ops)
    return jobs


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
