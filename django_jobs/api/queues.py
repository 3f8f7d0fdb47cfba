"""Queues: list, create, read, replace (PUT creates when missing), update (PATCH), delete.

Limits are plain fields; pausing and resuming go through ``Queue.pause()`` / ``resume()``.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from django_jobs.api import fields as f
from django_jobs.api.endpoint import Call, Endpoint, Operation, Reply, Response
from django_jobs.api.errors import Conflict, Invalid, NotFound
from django_jobs.api.pagination import LIMIT, OFFSET, by_offset
from django_jobs.api.representations import queue_data, ref
from django_jobs.api.schema import MISSING, Field, Shape
from django_jobs.conf import jobs_settings
from django_jobs.enqueue import forget_queues
from django_jobs.models import Job, Queue, RatePeriod
from django_jobs.states import ACTIVE_STATES

LIMITS = ("max_concurrent", "rate_numerator", "rate_denominator", "rate_period")


def _config(*, defaults: bool) -> dict[str, Field]:
    """The writable fields; with ``defaults``, an absent field takes the model's default."""

    def default(value: Any) -> Any:
        return value if defaults else MISSING

    count = {"type": ["integer", "null"], "minimum": 1, "maximum": f.INT_MAX}
    return {
        "paused": Field(
            {"type": "boolean"}, "No job is claimed from a paused queue.", default=default(False)
        ),
        "max_concurrent": Field(
            count,
            "Jobs of this queue running at once per worker; null: no limit.",
            default=default(None),
        ),
        "rate_numerator": Field(
            count,
            "Jobs started per rate period across the cluster; null: no rate limit.",
            default=default(None),
        ),
        "rate_denominator": Field(
            {"type": "integer", "minimum": 1, "maximum": f.INT_MAX},
            "How many periods the rate counts over (3 jobs per 2 minutes).",
            default=default(1),
        ),
        "rate_period": Field(
            {"type": ["string", "null"], "enum": [*RatePeriod.values, None]},
            "The rate's unit; required with rate_numerator.",
            default=default(None),
        ),
    }


def check_rate(values: dict[str, Any]) -> dict[str, Any]:
    numerator, period = values.get("rate_numerator"), values.get("rate_period")
    if numerator is not None and not period:
        raise Invalid.field("rate_period", "is required when rate_numerator is set")
    if period and numerator is None:
        raise Invalid.field("rate_numerator", "is required when rate_period is set")
    return values


NAME = f.queue_name("The queue's name.", required=True)
CREATE = Shape({"name": NAME, **_config(defaults=True)}, clean=check_rate)
REPLACE = Shape(
    _config(defaults=True),
    clean=check_rate,
    description="Every limit; an absent one is reset to its default.",
)
UPDATE = Shape(_config(defaults=False), description="Only the fields given change.")
NAME_PATH = Shape({"name": NAME})
LIST_QUERY = Shape({"limit": LIMIT, "offset": OFFSET})


def _queues() -> Any:
    return Queue.objects.using(jobs_settings.DATABASE)


def _get(name: str) -> Queue:
    queue = _queues().filter(name=name).first()
    if queue is None:
        raise NotFound(f"no queue named {name!r}")
    return queue


def _exists(name: str) -> Conflict:
    message = f"a queue named {name!r} exists already"
    return Conflict(message, errors={"name": [message]})


def _create(name: str, values: dict[str, Any]) -> Queue:
    queue = Queue(name=name, paused=values["paused"], **{k: values[k] for k in LIMITS})
    queue.rate_period = queue.rate_period or ""
    try:
        with transaction.atomic(using=jobs_settings.DATABASE):
            queue.save(using=jobs_settings.DATABASE)
    except IntegrityError:
        raise _exists(name) from None
    return queue


def _update(queue: Queue, values: dict[str, Any]) -> None:
    """Write the limits given, and pause or resume, in the caller's transaction."""
    limits = {k: values[k] for k in LIMITS if k in values}
    if limits:
        for name, value in limits.items():
            setattr(queue, name, "" if name == "rate_period" and value is None else value)
        queue.save(using=jobs_settings.DATABASE, update_fields=[*limits, "updated_at"])
    if "paused" in values:
        if values["paused"]:
            queue.pause()
        else:
            queue.resume()


# --- handlers ---------------------------------------------------------------------------------


def list_queues(call: Call) -> Reply:
    return Reply(by_offset(call.request, _queues().order_by("name"), call.query, queue_data))


def create(call: Call) -> Reply:
    name = call.body["name"]
    if _queues().filter(name=name).exists():
        raise _exists(name)
    return Reply(queue_data(_create(name, call.body)), 201)


def read(call: Call) -> Reply:
    return Reply(queue_data(_get(call.path["name"])))


def replace(call: Call) -> Reply:
    name = call.path["name"]
    with transaction.atomic(using=jobs_settings.DATABASE):
        queue = _queues().select_for_update().filter(name=name).first()
        if queue is None:
            call.require("add_queue")
            return Reply(queue_data(_create(name, call.body)), 201)
        call.require("change_queue")
        _update(queue, call.body)
    return Reply(queue_data(_get(name)))


def update(call: Call) -> Reply:
    name = call.path["name"]
    with transaction.atomic(using=jobs_settings.DATABASE):
        queue = _queues().select_for_update().filter(name=name).first()
        if queue is None:
            raise NotFound(f"no queue named {name!r}")
        stored = {k: getattr(queue, k) or None for k in ("rate_numerator", "rate_period")}
        check_rate({**stored, **call.body})
        _update(queue, call.body)
    return Reply(queue_data(_get(name)))


def delete(call: Call) -> Reply:
    name = call.path["name"]
    alias = jobs_settings.DATABASE
    with transaction.atomic(using=alias):
        queue = _get(name)
        active = Job.objects.using(alias).filter(queue=name, state__in=ACTIVE_STATES)
        if active.exists():
            raise Conflict(
                f"queue {name!r} has waiting or running jobs; cancel them or let them finish first",
            )
        queue.delete(using=alias)
        # This process would otherwise remember the queue and never create its row again.
        transaction.on_commit(forget_queues, using=alias)
    return Reply(None, 204)


# --- endpoints --------------------------------------------------------------------------------

ENDPOINTS = [
    Endpoint(
        "queues/",
        "queues",
        [
            Operation(
                "GET",
                list_queues,
                "List queues by name",
                ("view_queue",),
                {200: Response("A page of queues.", ref("QueuePage"))},
                query=LIST_QUERY,
            ),
            Operation(
                "POST",
                create,
                "Create a queue",
                ("add_queue",),
                {201: Response("The new queue.", ref("Queue"))},
                body=CREATE,
                errors={409: "A queue with this name exists."},
            ),
        ],
    ),
    Endpoint(
        "queues/<str:name>/",
        "queue",
        [
            Operation(
                "GET", read, "A queue", ("view_queue",), {200: Response("The queue.", ref("Queue"))}
            ),
            Operation(
                "PUT",
                replace,
                "Create or replace a queue",
                ("add_queue", "change_queue"),
                {200: Response("Replaced.", ref("Queue")), 201: Response("Created.", ref("Queue"))},
                body=REPLACE,
                description="Needs django_jobs.add_queue to create, change_queue to replace.",
            ),
            Operation(
                "PATCH",
                update,
                "Change some of a queue's fields",
                ("change_queue",),
                {200: Response("The queue.", ref("Queue"))},
                body=UPDATE,
            ),
            Operation(
                "DELETE",
                delete,
                "Delete a queue",
                ("delete_queue",),
                {204: Response("Deleted.")},
                errors={409: "The queue has waiting or running jobs."},
            ),
        ],
        path=NAME_PATH,
    ),
]
