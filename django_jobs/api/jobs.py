"""Jobs: list, status, attempts, cancel (one or many), delete; submitting is in submit.py."""

from __future__ import annotations

from typing import Any

from django_jobs import states
from django_jobs.api import fields as f
from django_jobs.api import submit
from django_jobs.api.endpoint import Call, Endpoint, Operation, Reply, Response
from django_jobs.api.errors import Conflict, NotCancellable, NotFound
from django_jobs.api.pagination import LIMIT, by_cursor
from django_jobs.api.representations import (
    JOB_HEAVY_FIELDS,
    attempt_data,
    job_detail,
    job_summary,
    ref,
)
from django_jobs.api.schema import Field, Shape
from django_jobs.conf import jobs_settings
from django_jobs.exceptions import InvalidTransition
from django_jobs.models import Job, JobAttempt
from django_jobs.states import State


def _jobs() -> Any:
    return Job.objects.using(jobs_settings.DATABASE)


def get_job(pk: Any) -> Job:
    try:
        return _jobs().get(pk=pk)
    except Job.DoesNotExist:
        raise NotFound(f"no job with id {pk}") from None


# --- read -------------------------------------------------------------------------------------

LIST_QUERY = Shape(
    {
        "state": Field(
            {"type": "array", "items": {"type": "string", "enum": list(State.values)}},
            "Only jobs in these states (repeat the parameter, or separate with commas).",
        ),
        "queue": f.queue_name("Only jobs of this queue."),
        "name": f.definition_name("Only jobs of this definition."),
        "limit": LIMIT,
        "cursor": f.job_id("Where the page starts (exclusive): the `next` URL carries it."),
    }
)


def list_jobs(call: Call) -> Reply:
    query = call.query
    jobs = _jobs().defer(*JOB_HEAVY_FIELDS)
    if query.get("state"):
        jobs = jobs.filter(state__in=sorted(set(query["state"])))
    if query.get("queue"):
        jobs = jobs.filter(queue=query["queue"])
    if query.get("name"):
        jobs = jobs.filter(name=query["name"])
    return Reply(by_cursor(call.request, jobs, query, job_summary))


def read_job(call: Call) -> Reply:
    return Reply(job_detail(get_job(call.path["id"])))


def attempts(call: Call) -> Reply:
    job = get_job(call.path["id"])
    rows = JobAttempt.objects.using(jobs_settings.DATABASE).filter(job=job).order_by("number")
    return Reply({"id": str(job.pk), "attempts": [attempt_data(a) for a in rows]})


# --- cancel and delete ------------------------------------------------------------------------


def cancel(call: Call) -> Reply:
    job = get_job(call.path["id"])
    try:
        cancelled = job.cancel()
    except InvalidTransition as exc:
        raise NotCancellable(str(exc), id=str(job.pk), state=exc.current) from None
    job.refresh_from_db(using=jobs_settings.DATABASE)
    return Reply(job_detail(job), 200 if cancelled else 202)


NO_BODY = Shape({}, description="Nothing, or an empty object.")
CANCEL_MANY = Shape({"ids": f.job_ids("The jobs to cancel (UUIDs or ULIDs), at most 500.")})


def cancel_many(call: Call) -> Reply:
    ids = call.body["ids"]
    found = {job.pk: job for job in _jobs().filter(pk__in=ids)}
    outcome: dict[str, list[Any]] = {
        "cancelled": [],
        "requested": [],
        "not_cancellable": [],
        "not_found": [],
    }
    for pk in ids:
        job = found.get(pk)
        if job is None:
            outcome["not_found"].append(str(pk))
            continue
        try:
            outcome["cancelled" if job.cancel() else "requested"].append(str(pk))
        except InvalidTransition as exc:
            outcome["not_cancellable"].append({"id": str(pk), "state": exc.current})
    return Reply(outcome)


def delete(call: Call) -> Reply:
    pk = call.path["id"]
    deleted, _ = _jobs().filter(pk=pk, state__in=states.FINISHED_STATES).delete()
    if not deleted:
        job = get_job(pk)
        raise Conflict(
            f"job {pk} is {job.state}; only a finished job can be deleted (cancel it first)",
            id=str(pk),
            state=job.state,
        )
    return Reply(None, 204)


# --- endpoints --------------------------------------------------------------------------------

ID_PATH = Shape(
    {"id": f.job_id("The job's id: a UUID, or the ULID given at submit.", required=True)}
)
_CANCEL_OUTCOME = {
    "type": "object",
    "properties": {
        "cancelled": {"type": "array", "items": {"type": "string"}},
        "requested": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Running jobs whose worker was asked to stop them.",
        },
        "not_cancellable": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "state": {"type": "string", "enum": list(State.values)},
                },
                "required": ["id", "state"],
                "additionalProperties": False,
            },
        },
        "not_found": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["cancelled", "requested", "not_cancellable", "not_found"],
    "additionalProperties": False,
}
_ATTEMPTS = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "attempts": {"type": "array", "items": ref("Attempt")},
    },
    "required": ["id", "attempts"],
    "additionalProperties": False,
}

ENDPOINTS = [
    Endpoint(
        "jobs/",
        "jobs",
        [
            Operation(
                "GET",
                list_jobs,
                "List jobs, newest first",
                ("view_job",),
                {200: Response("A page of jobs.", ref("JobPage"))},
                query=LIST_QUERY,
            ),
            Operation(
                "POST",
                submit.submit,
                "Submit a job",
                ("add_job",),
                {
                    201: Response("The new job.", ref("Job")),
                    200: Response(
                        "The active job that holds the key (on_conflict=return).", ref("Job")
                    ),
                },
                body=submit.SUBMIT,
                errors={409: "The id exists, or the key is taken (on_conflict=raise/replace)."},
            ),
        ],
    ),
    Endpoint(
        "jobs/cancel/",
        "jobs-cancel",
        [
            Operation(
                "POST",
                cancel_many,
                "Cancel several jobs",
                ("cancel_job",),
                {200: Response("What happened to each id.", _CANCEL_OUTCOME)},
                body=CANCEL_MANY,
            )
        ],
    ),
    Endpoint(
        "jobs/<str:id>/",
        "job",
        [
            Operation(
                "GET",
                read_job,
                "A job's status",
                ("view_job",),
                {200: Response("The job.", ref("Job"))},
            ),
            Operation(
                "DELETE",
                delete,
                "Delete a finished job",
                ("delete_job",),
                {204: Response("Deleted.")},
                errors={409: "The job is not finished (its state is in the body)."},
            ),
        ],
        path=ID_PATH,
    ),
    Endpoint(
        "jobs/<str:id>/attempts/",
        "job-attempts",
        [
            Operation(
                "GET",
                attempts,
                "A job's attempt history",
                ("view_job",),
                {200: Response("Every attempt, oldest first.", _ATTEMPTS)},
            )
        ],
        path=ID_PATH,
    ),
    Endpoint(
        "jobs/<str:id>/cancel/",
        "job-cancel",
        [
            Operation(
                "POST",
                cancel,
                "Cancel a job",
                ("cancel_job",),
                {
                    200: Response("Cancelled (it was waiting).", ref("Job")),
                    202: Response("Running: its worker was asked to stop it.", ref("Job")),
                },
                body=NO_BODY,
                errors={409: "The job is finished; the body has its state."},
            )
        ],
        path=ID_PATH,
    ),
]
