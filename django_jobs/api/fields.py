"""Field descriptions shared by several resources: ids, names, and the enqueue options."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from django_jobs.api.schema import Field, FieldError
from django_jobs.enqueue import MAX_DELAY, InvalidEnqueue, check_options
from django_jobs.ids import parse_job_id
from django_jobs.names import NAME_RE, QUEUE_NAME_RE, QUEUE_NAME_RULE

INT_MAX = 2_147_483_647  # PositiveIntegerField's range on every database
MAX_IDS = 500

#: A UUID (hyphens optional) or a 26-character ULID (Crockford base32, at most 128 bits).
ID_SCHEMA = {
    "type": "string",
    "pattern": "^([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    "|[0-7][0-9A-TV-Za-tv-z]{25})$",
}
ID_RULE = "a job id: a UUID or a 26-character ULID"
QUEUE_NAME_SCHEMA = {"type": "string", "pattern": QUEUE_NAME_RE.pattern}
QUEUE_RULE = f"a queue name ({QUEUE_NAME_RULE})"
DEFINITION_NAME_SCHEMA = {"type": "string", "pattern": NAME_RE.pattern}
DEFINITION_RULE = (
    "a definition name (1 to 200 letters, digits, '_', '.', ':' or '-', starting with a "
    "letter or '_')"
)


def parse_id(value: str) -> uuid.UUID:
    """A job id (UUID or ULID) for a field check."""
    try:
        return parse_job_id(value)
    except ValueError as exc:
        raise FieldError(f"must be a UUID or a ULID: {exc}") from None


def job_id(description: str, *, check: Any = parse_id, **options: Any) -> Field:
    return Field(ID_SCHEMA, description, rule=ID_RULE, check=check, **options)


def job_ids(description: str, *, required: bool = True) -> Field:
    return Field(
        {"type": "array", "items": ID_SCHEMA, "minItems": 1, "maxItems": MAX_IDS},
        description,
        required=required,
        rule=ID_RULE,
        check=_parse_ids,
    )


def _parse_ids(values: list[str]) -> list[Any]:
    ids = []
    for index, value in enumerate(values):
        try:
            ids.append(parse_id(value))
        except FieldError as exc:
            raise FieldError(f"item {index} {exc}") from None
    return list(dict.fromkeys(ids))  # each id once, in the order given


def queue_name(description: str, **options: Any) -> Field:
    return Field(QUEUE_NAME_SCHEMA, description, rule=QUEUE_RULE, **options)


def definition_name(description: str, **options: Any) -> Field:
    return Field(DEFINITION_NAME_SCHEMA, description, rule=DEFINITION_RULE, **options)


# --- enqueue options: the schema first, then enqueue's own check as the last word -------------


def enqueue_option(option: str, parse: Any = None) -> Any:
    """A field check: ``parse`` the value, then let ``check_options`` normalise it."""

    def check(value: Any) -> Any:
        if parse is not None:
            value = parse(value)
        try:
            return check_options(**{option: value})[option]
        except InvalidEnqueue as exc:
            raise FieldError(str(exc)) from None

    return check


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 date-time with a UTC offset."""
    try:
        value = parse_datetime(text)
    except ValueError as exc:
        raise FieldError(f"is not a valid date-time: {exc}") from None
    if value is None:
        raise FieldError(
            f"must be an ISO 8601 date-time such as 2030-01-31T09:00:00Z, got {text!r}"
        )
    if timezone.is_naive(value):
        raise FieldError("must include a UTC offset (Z or +HH:MM), as in 2030-01-31T09:00:00Z")
    try:
        return value.astimezone(dt.timezone.utc)
    except OverflowError:
        raise FieldError(f"is out of range: {text!r}") from None


MAX_DELAY_SECONDS = MAX_DELAY.total_seconds()
