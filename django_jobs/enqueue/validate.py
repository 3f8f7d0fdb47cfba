"""Enqueue validation: per-call options and call arguments, checked before anything is written.

Every check raises ``InvalidEnqueue`` (options) or ``TypeError`` (arguments) with a sentence
that names the option or the argument.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django_jobs import options as opt
from django_jobs.exceptions import JobsError, describe
from django_jobs.option_table import ENQUEUE, OPTIONS, names

if TYPE_CHECKING:
    from django_jobs.registry import Definition

Call = tuple[Sequence[Any], dict[str, Any]]

NUL = "\\u0000"  # how JSON spells the NUL character, which PostgreSQL cannot store
strict_json = json.JSONEncoder(allow_nan=False).encode  # json.dumps(..., allow_nan=False)


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


def bad_option(option: str, problem: str) -> InvalidEnqueue:
    return InvalidEnqueue(f"enqueue option {option!r} {problem}")


def _checked(option: str, value: Any) -> Any:
    """The option table's check of ``option``; its problem raised as ``InvalidEnqueue``."""
    try:
        return OPTIONS[option].check(value)
    except opt.Problem as exc:
        raise bad_option(option, str(exc)) from None


def check_options(**options: Any) -> dict[str, Any]:
    """Validate per-call options (the option table's ``ENQUEUE`` ones); return them normalised.

    Raises ``InvalidEnqueue``. ``None`` means "the definition's default" for every option but
    ``on_conflict``.
    """
    allowed = names(ENQUEUE)
    clean: dict[str, Any] = {}
    for option, value in options.items():
        if option not in allowed:
            raise bad_option(option, f"is unknown; the options are {', '.join(sorted(allowed))}")
        if value is None and option != "on_conflict":
            clean[option] = None
            continue
        clean[option] = _checked(option, value)
    if clean.get("run_at") is not None and clean.get("delay") is not None:
        raise bad_option("delay", "and 'run_at' cannot both be given")
    return clean


def as_call(definition: Definition, index: int, item: Any) -> tuple[Sequence[Any], dict[str, Any]]:
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


def keys_for(
    calls: list[Any], keys: Iterable[str | None] | None, shared: str | None
) -> list[str | None]:
    if keys is None:
        if shared is not None and len(calls) > 1:
            raise bad_option(
                "key", "applies to one job; give enqueue_many(..., keys=[...]) instead"
            )
        return [shared] * len(calls)
    key_list = [_key(k) for k in keys]
    if len(key_list) != len(calls):
        raise bad_option("keys", f"has {len(key_list)} entries for {len(calls)} items")
    return key_list


def _key(value: Any) -> str | None:
    try:
        return opt.text(value)
    except opt.Problem as exc:
        raise bad_option("keys", str(exc)) from None


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
        text = strict_json(calls)
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
