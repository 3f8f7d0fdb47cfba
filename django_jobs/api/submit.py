"""POST jobs/: submit a job. Only registered definitions are accepted; every enqueue option is
checked by the API's schema first and by ``check_options`` (enqueue's own rules) last."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError

from django_jobs.api import fields as f
from django_jobs.api.endpoint import Call, Reply
from django_jobs.api.errors import Conflict, Invalid
from django_jobs.api.representations import job_detail
from django_jobs.api.schema import Field, FieldError, Shape, nullable
from django_jobs.conf import jobs_settings
from django_jobs.enqueue import ON_CONFLICT, InvalidEnqueue
from django_jobs.exceptions import DuplicateJob, UnknownJob
from django_jobs.models import Job
from django_jobs.option_table import API, names
from django_jobs.registry import registry

#: The enqueue options the body takes: the option table's ``API`` ones.
OPTIONS = names(API)


def _registered(name: str) -> str:
    """Some version of ``name`` is registered (the version is checked with it in ``_resolve``)."""
    try:
        registry.get(name)
    except UnknownJob as exc:
        raise FieldError(str(exc)) from None
    return name


def _resolve(values: dict[str, Any]) -> dict[str, Any]:
    """The registered definition (only those may run), and the run_at / delay rule."""
    name, version = values["name"], values.get("version")
    try:
        values["definition"] = registry.get(name, version)
    except UnknownJob as exc:
        raise Invalid.field("version", str(exc)) from None
    if values.get("run_at") is not None and values.get("delay") is not None:
        raise Invalid.field("delay", "cannot be given together with run_at; give one of them")
    return values


#: The body field of each enqueue option: its JSON schema and description, then enqueue's
#: own check (``check_options``) as the last word.
OPTION_FIELDS = {
    "id": f.job_id(
        "A client-chosen id, a UUID or a ULID, to know the job's id before the reply.",
        check=f.enqueue_option("id", f.parse_id),
    ),
    "queue": Field(
        nullable(f.QUEUE_NAME_SCHEMA),
        "The queue instead of the definition's.",
        rule=f.QUEUE_RULE,
        check=f.enqueue_option("queue"),
    ),
    "priority": Field(
        {"type": ["integer", "null"], "minimum": -100, "maximum": 100},
        "-100 to 100, higher runs first; the definition's when left out.",
        check=f.enqueue_option("priority"),
    ),
    "run_at": Field(
        {"type": ["string", "null"], "format": "date-time", "maxLength": 64},
        "When the job may run (ISO 8601 with a UTC offset); in the future it is scheduled.",
        check=f.enqueue_option("run_at", f.parse_time),
    ),
    "delay": Field(
        {"type": ["number", "null"], "minimum": 0, "maximum": f.MAX_DELAY_SECONDS},
        "Seconds from now until the job may run (not with run_at).",
        check=f.enqueue_option("delay"),
    ),
    "key": Field(
        {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
        "Deduplication key: while a job with this key is waiting or running, see on_conflict.",
        check=f.enqueue_option("key"),
    ),
    "on_conflict": Field(
        {"type": "string", "enum": list(ON_CONFLICT)},
        "When the key is taken: return the existing job (200), raise (409), or replace a "
        "waiting one.",
        default="return",
    ),
    "meta": Field(
        {"type": ["object", "null"]},
        "JSON metadata merged over the definition's.",
        check=f.enqueue_option("meta"),
    ),
    "group_key": Field(
        {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
        "Stored on the job.",
        check=f.enqueue_option("group_key"),
    ),
}

SUBMIT = Shape(
    {
        "name": f.definition_name(
            "The registered definition to run.", required=True, check=_registered
        ),
        "version": Field(
            {"type": "integer", "minimum": 1, "maximum": f.INT_MAX},
            "The definition's version; the latest registered one when left out.",
        ),
        "args": Field({"type": "array"}, "Positional arguments (JSON).", default=[]),
        "kwargs": Field({"type": "object"}, "Keyword arguments (JSON).", default={}),
        **{option: OPTION_FIELDS[option] for option in OPTIONS},
    },
    clean=_resolve,
    description="A job to enqueue. Only registered definitions are accepted.",
)


def submit(call: Call) -> Reply:
    body = call.body
    options = {o: body[o] for o in OPTIONS if body.get(o) is not None}
    jobs = Job.objects.using(jobs_settings.DATABASE)
    if "id" in options and jobs.filter(pk=options["id"]).exists():
        raise _duplicate_id(options["id"])
    try:
        request = body["definition"].using(**options)
        job = request.enqueue(*body["args"], **body["kwargs"])
    except InvalidEnqueue as exc:  # the fields were checked one by one; this is a combination
        raise Invalid.field("body", str(exc)) from None
    except TypeError as exc:  # the arguments do not fit the function's signature
        raise Invalid.field("kwargs" if body["kwargs"] else "args", str(exc)) from None
    except DuplicateJob as exc:
        if exc.existing is None and "id" in options:
            raise _duplicate_id(options["id"]) from None
        extra = {"job": job_detail(exc.existing)} if exc.existing is not None else {}
        raise Conflict(str(exc), errors={"key": [str(exc)]}, **extra) from None
    except IntegrityError:
        if "id" not in options:
            raise
        raise _duplicate_id(options["id"]) from None  # the same id inserted concurrently
    # write_jobs marks the rows it inserted; with a taken key the job is the holder instead.
    inserted = getattr(job, "_inserted", False)
    return Reply(job_detail(job), 201 if inserted else 200)


def _duplicate_id(pk: Any) -> Conflict:
    message = f"a job with id {pk} exists already"
    return Conflict(message, errors={"id": [message]})
