"""Reading a request body: size limit (413), media type (415), JSON that the database can store.

The JSON is parsed strictly: no ``NaN``/``Infinity``, no number too large for a float, no
unpaired surrogate or NUL character anywhere (PostgreSQL cannot store them), and at most
``MAX_DEPTH`` levels of nesting. A problem is reported on the top-level member holding it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from django_jobs.api import settings as api_settings
from django_jobs.api.errors import Invalid, TooLarge, UnsupportedMediaType
from django_jobs.api.schema import MISSING

MAX_DEPTH = 64
JSON_TYPES = ("application/json",)


def read_json(request: HttpRequest) -> Any:
    """The parsed body, or ``MISSING`` when the request has none."""
    raw = _read(request)
    if not raw.strip():
        return MISSING
    media_type = (request.content_type or "").lower()
    if media_type not in JSON_TYPES and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the body as application/json, not {request.content_type or 'no type'}"
        )
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Invalid.field("body", f"is not valid JSON: {_short(exc)}") from None
    _check_storable(data)
    return data


def _read(request: HttpRequest) -> bytes:
    limit = api_settings.max_body_bytes()
    length = request.META.get("CONTENT_LENGTH") or ""
    if length and not length.isdigit():
        raise Invalid.field("body", f"the Content-Length header {length!r} is not a number")
    if length and int(length) > limit:
        raise TooLarge(f"the request body is {length} bytes; the limit is {limit}")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise TooLarge(f"the request body is larger than the limit of {limit} bytes") from None
    if len(raw) > limit:
        raise TooLarge(f"the request body is {len(raw)} bytes; the limit is {limit}")
    return raw


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _short(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    return str(exc)[:200]


def _check_storable(data: Any) -> None:
    """Every string and key storable in any database, nesting within ``MAX_DEPTH``."""
    if isinstance(data, dict):
        for key, value in data.items():
            problem = _problem(key) or _first_problem(value)
            if problem:
                field = key if _problem(key) is None else "body"
                raise Invalid.field(field, problem)
    else:
        problem = _first_problem(data)
        if problem:
            raise Invalid.field("body", problem)


def _first_problem(value: Any) -> str | None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"is nested more than {MAX_DEPTH} levels deep"
        if isinstance(item, str):
            problem = _problem(item)
            if problem:
                return problem
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = _problem(key)
                if problem:
                    return problem
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


def _problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain the NUL character (\\u0000), which databases cannot store"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain an unpaired surrogate (\\ud800 to \\udfff)"
    return None
