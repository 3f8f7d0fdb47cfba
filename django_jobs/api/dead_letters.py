"""Dead letters: browse, one with its full attempt history, resubmit (by ids or by
definition), delete (one or many). A dead letter is named by its failed job's id.
"""

from __future__ import annotations

from typing import Any

from django_jobs.api import fields as f
from django_jobs.api.endpoint import Call, Endpoint, Operation, Reply, Response
from django_jobs.api.errors import Invalid, NotFound
from django_jobs.api.pagination import LIMIT, MAX_LIMIT, OFFSET, by_offset
from django_jobs.api.representations import attempt_data, dead_letter_data, job_detail, ref
from django_jobs.api.schema import Field, Shape
from django_jobs.conf import jobs_settings
from django_jobs.exceptions import UnknownJob
from django_jobs.models import DeadLetter, JobAttempt
from django_jobs.operations import purge_dead_letters

NOT_FOUND = "no such dead letter"
UNKNOWN_DEFINITION = "no worker knows this definition"
RESUBMITTED = "resubmitted already"


def _letters() -> Any:
    return DeadLetter.objects.using(jobs_settings.DATABASE)


LIST_QUERY = Shape(
    {
        "name": f.definition_name("Only dead letters of this definition."),
        "resubmitted": Field(
            {"type": "boolean"}, "true: only resubmitted ones; false: only the others."
        ),
        "limit": LIMIT,
        "offset": OFFSET,
    }
)


def list_letters(call: Call) -> Reply:
    query = call.query
    letters = _letters().order_by("-failed_at", "-pk")
    if query.get("name"):
        letters = letters.filter(name=query["name"])
    if query.get("resubmitted") is not None:
        letters = letters.filter(resubmitted_at__isnull=not query["resubmitted"])
    return Reply(by_offset(call.request, letters, query, dead_letter_data))


def read(call: Call) -> Reply:
    letter = _letters().select_related("job").filter(job_id=call.path["id"]).first()
    if letter is None:
        raise NotFound(f"no dead letter for job {call.path['id']}")
    attempts = JobAttempt.objects.using(jobs_settings.DATABASE).filter(job_id=letter.job_id)
    return Reply(
        {
            **dead_letter_data(letter),
            "job": job_detail(letter.job),
            "attempts": [attempt_data(a) for a in attempts.order_by("number")],
        }
    )


# --- resubmit ---------------------------------------------------------------------------------


def _one_way(values: dict[str, Any]) -> dict[str, Any]:
    if ("ids" in values) == ("name" in values):
        message = "give either ids or name (with an optional limit), not both"
        raise Invalid({"ids": [message], "name": [message]})
    if "limit" in values and "ids" in values:
        raise Invalid.field("limit", "goes with name, not with ids")
    values.setdefault("limit", LIMIT.default)
    return values


RESUBMIT = Shape(
    {
        "ids": f.job_ids(
            "The dead letters to resubmit (their jobs' ids), at most 500.", required=False
        ),
        "name": f.definition_name("Resubmit the oldest pending dead letters of this definition."),
        "limit": Field(
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            f"With name: how many at most (default {LIMIT.default}).",
        ),
        "reset_retry_count": Field(
            {"type": "boolean"},
            "true: the new job gets all its attempts again; false: only those the failed job "
            "had left (at least one).",
            default=True,
        ),
    },
    clean=_one_way,
    description="Either ids, or name (with limit).",
)


def resubmit(call: Call) -> Reply:
    body = call.body
    skipped: list[dict[str, str]] = []
    if "ids" in body:
        found = {d.job_id: d for d in _letters().filter(job_id__in=body["ids"])}
        letters = [found[pk] for pk in body["ids"] if pk in found]
        skipped += [{"id": str(pk), "reason": NOT_FOUND} for pk in body["ids"] if pk not in found]
    else:
        pending = _letters().filter(name=body["name"], resubmitted_at__isnull=True)
        letters = list(pending.order_by("failed_at", "pk")[: body["limit"]])
    resubmitted = []
    for letter in letters:
        try:
            job = letter.resubmit(reset_retry_count=body["reset_retry_count"])
        except UnknownJob:
            skipped.append({"id": str(letter.job_id), "reason": UNKNOWN_DEFINITION})
            continue
        if job is None:
            skipped.append({"id": str(letter.job_id), "reason": RESUBMITTED})
        else:
            resubmitted.append({"id": str(letter.job_id), "job": str(job.pk)})
    return Reply({"resubmitted": resubmitted, "skipped": skipped})


# --- delete -----------------------------------------------------------------------------------

DELETE_MANY = Shape({"ids": f.job_ids("The dead letters to delete (their jobs' ids).")})


def delete(call: Call) -> Reply:
    if not purge_dead_letters(_letters().filter(job_id=call.path["id"])):
        raise NotFound(f"no dead letter for job {call.path['id']}")
    return Reply(None, 204)


def delete_many(call: Call) -> Reply:
    ids = call.body["ids"]
    found = set(_letters().filter(job_id__in=ids).values_list("job_id", flat=True))
    purge_dead_letters(_letters().filter(job_id__in=found))
    return Reply(
        {
            "deleted": [str(pk) for pk in ids if pk in found],
            "not_found": [str(pk) for pk in ids if pk not in found],
        }
    )


# --- endpoints --------------------------------------------------------------------------------

_IDS = {"type": "array", "items": {"type": "string"}}
_RESUBMIT_OUTCOME = {
    "type": "object",
    "properties": {
        "resubmitted": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "description": "The dead letter's job."},
                    "job": {"type": "string", "description": "The new job."},
                },
                "required": ["id", "job"],
                "additionalProperties": False,
            },
        },
        "skipped": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "reason": {
                        "type": "string",
                        "enum": [NOT_FOUND, UNKNOWN_DEFINITION, RESUBMITTED],
                    },
                },
                "required": ["id", "reason"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["resubmitted", "skipped"],
    "additionalProperties": False,
}
_DELETE_OUTCOME = {
    "type": "object",
    "properties": {"deleted": _IDS, "not_found": _IDS},
    "required": ["deleted", "not_found"],
    "additionalProperties": False,
}
ID_PATH = Shape({"id": f.job_id("The failed job's id (UUID or ULID).", required=True)})

ENDPOINTS = [
    Endpoint(
        "dead-letters/",
        "dead-letters",
        [
            Operation(
                "GET",
                list_letters,
                "Browse dead letters, newest first",
                ("view_deadletter",),
                {200: Response("A page of dead letters.", ref("DeadLetterPage"))},
                query=LIST_QUERY,
            ),
        ],
    ),
    Endpoint(
        "dead-letters/resubmit/",
        "dead-letters-resubmit",
        [
            Operation(
                "POST",
                resubmit,
                "Resubmit dead letters",
                ("resubmit_job",),
                {200: Response("The new jobs, and what was skipped and why.", _RESUBMIT_OUTCOME)},
                body=RESUBMIT,
            ),
        ],
    ),
    Endpoint(
        "dead-letters/delete/",
        "dead-letters-delete",
        [
            Operation(
                "POST",
                delete_many,
                "Delete dead letters (with their jobs)",
                ("delete_deadletter",),
                {200: Response("What was deleted.", _DELETE_OUTCOME)},
                permissions_also=("delete_job",),
                body=DELETE_MANY,
            ),
        ],
    ),
    Endpoint(
        "dead-letters/<str:id>/",
        "dead-letter",
        [
            Operation(
                "GET",
                read,
                "A dead letter with its full attempt history",
                ("view_deadletter",),
                {
                    200: Response(
                        "The dead letter, its job and every attempt.", ref("DeadLetterDetail")
                    )
                },
            ),
            Operation(
                "DELETE",
                delete,
                "Delete a dead letter (with its job)",
                ("delete_deadletter",),
                {204: Response("Deleted.")},
                permissions_also=("delete_job",),
            ),
        ],
        path=ID_PATH,
    ),
]
