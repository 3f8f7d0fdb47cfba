"""How rows look in JSON, each next to its JSON Schema (the ``components`` of the document).

Times are ISO 8601 strings (``null`` when unset), ids are UUID strings, durations are
seconds. The schemas are checked against every response of the test suite.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django_jobs.models import DeadLetter, Job, JobAttempt, Outcome, Queue, RatePeriod, Role
from django_jobs.states import State

_TEXT = {"type": "string"}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_UUID = {"type": "string", "format": "uuid"}
_SECONDS = {"type": ["number", "null"], "minimum": 0}
_ANY: dict[str, Any] = {}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def seconds(value: timedelta | None) -> float | None:
    return max(0.0, value.total_seconds()) if value is not None else None


# --- jobs -------------------------------------------------------------------------------------

_JOB_SUMMARY = {
    "id": _UUID,
    "name": {**_TEXT, "description": "The definition's name."},
    "version": {"type": "integer", "minimum": 1},
    "queue": _TEXT,
    "state": {"type": "string", "enum": list(State.values)},
    "priority": {"type": "integer", "minimum": -100, "maximum": 100},
    "key": {"type": ["string", "null"]},
    "run_at": _TIME,
    "created_at": _TIME,
    "started_at": _TIME,
    "finished_at": _TIME,
    "attempts": {"type": "integer", "minimum": 0, "description": "Attempts started so far."},
    "max_attempts": {"type": "integer", "minimum": 0},
    "progress": {"type": ["number", "null"]},
    "cancel_requested_at": _TIME,
}
_JOB_DETAIL = {
    **_JOB_SUMMARY,
    "args": {"type": "array"},
    "kwargs": {"type": "object"},
    "meta": {"type": "object"},
    "group_key": {"type": ["string", "null"]},
    "worker": {"type": ["string", "null"]},
    "heartbeat_at": _TIME,
    "result": {**_ANY, "description": "The job's return value (JSON), null until it succeeds."},
    "last_error": _TEXT,
    "expires_at": _TIME,
    "scheduled_for": _TIME,
    "resubmitted_from": {"type": ["string", "null"], "format": "uuid"},
    "wait_seconds": {**_SECONDS, "description": "From run_at to the start of the last attempt."},
    "run_seconds": {**_SECONDS, "description": "From the start of the last attempt to the end."},
    "total_seconds": {**_SECONDS, "description": "From enqueue to the end."},
}
#: Fields the job list does not load.
JOB_HEAVY_FIELDS = ("args", "kwargs", "meta", "result", "last_error")


def job_summary(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.pk),
        "name": job.name,
        "version": job.version,
        "queue": job.queue,
        "state": job.state,
        "priority": job.priority,
        "key": job.key,
        "run_at": iso(job.run_at),
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "progress": job.progress,
        "cancel_requested_at": iso(job.cancel_requested_at),
    }


def job_detail(job: Job) -> dict[str, Any]:
    return {
        **job_summary(job),
        "args": job.args,
        "kwargs": job.kwargs,
        "meta": job.meta,
        "group_key": job.group_key,
        "worker": job.worker,
        "heartbeat_at": iso(job.heartbeat_at),
        "result": job.result,
        "last_error": job.last_error,
        "expires_at": iso(job.expires_at),
        "scheduled_for": iso(job.scheduled_for),
        "resubmitted_from": str(job.resubmitted_from) if job.resubmitted_from else None,
        "wait_seconds": seconds(job.wait_duration),
        "run_seconds": seconds(job.run_duration),
        "total_seconds": seconds(job.total_duration),
    }


_ATTEMPT = {
    "number": {"type": "integer", "minimum": 1},
    "worker": _TEXT,
    "started_at": _TIME,
    "finished_at": _TIME,
    "outcome": {"type": "string", "enum": list(Outcome.values)},
    "error_type": _TEXT,
    "error_message": _TEXT,
    "traceback": _TEXT,
    "duration_seconds": _SECONDS,
}


def attempt_data(attempt: JobAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "worker": attempt.worker,
        "started_at": iso(attempt.started_at),
        "finished_at": iso(attempt.finished_at),
        "outcome": attempt.outcome,
        "error_type": attempt.error_type,
        "error_message": attempt.error_message,
        "traceback": attempt.traceback,
        "duration_seconds": seconds(attempt.duration),
    }


# --- queues and roles -------------------------------------------------------------------------

_QUEUE = {
    "name": _TEXT,
    "paused": {"type": "boolean"},
    "max_concurrent": {"type": ["integer", "null"], "minimum": 0},
    "rate_numerator": {"type": ["integer", "null"], "minimum": 0},
    "rate_denominator": {"type": "integer", "minimum": 0},
    "rate_period": {"type": ["string", "null"], "enum": [*RatePeriod.values, None]},
    "created_at": _TIME,
    "updated_at": _TIME,
}


def queue_data(queue: Queue) -> dict[str, Any]:
    return {
        "name": queue.name,
        "paused": queue.paused,
        "max_concurrent": queue.max_concurrent,
        "rate_numerator": queue.rate_numerator,
        "rate_denominator": queue.rate_denominator,
        "rate_period": queue.rate_period or None,
        "created_at": iso(queue.created_at),
        "updated_at": iso(queue.updated_at),
    }


_ROLE = {
    "name": _TEXT,
    "queues": {"type": "array", "items": _TEXT, "description": "Queue names, sorted."},
    "description": _TEXT,
    "updated_at": _TIME,
}


def role_data(role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "queues": sorted(q.name for q in role.queues.all()),
        "description": role.description,
        "updated_at": iso(role.updated_at),
    }


# --- dead letters -----------------------------------------------------------------------------

_DEAD_LETTER = {
    "id": {**_UUID, "description": "The failed job's id."},
    "name": {**_TEXT, "description": "The definition's name."},
    "reason": _TEXT,
    "failed_at": _TIME,
    "resubmitted_at": _TIME,
    "resubmitted_job": {"type": ["string", "null"], "format": "uuid"},
}


def dead_letter_data(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": str(letter.job_id),
        "name": letter.name,
        "reason": letter.reason,
        "failed_at": iso(letter.failed_at),
        "resubmitted_at": iso(letter.resubmitted_at),
        "resubmitted_job": str(letter.resubmitted_job_id) if letter.resubmitted_job_id else None,
    }


# --- pages and errors -------------------------------------------------------------------------


def page_schema(item: str) -> dict[str, Any]:
    return _object(
        {
            "results": {"type": "array", "items": ref(item)},
            "next": {
                "type": ["string", "null"],
                "description": "The URL of the next page; null on the last one.",
            },
        },
        f"One page of {item} items.",
    )


_ERROR = {
    "type": "object",
    "description": "Every error: a stable code and a sentence; 400 adds errors per field.",
    "properties": {
        "error": {"type": "string", "description": "A stable code: invalid, not_found, ..."},
        "message": _TEXT,
        "errors": {
            "type": "object",
            "description": "Field name -> what is wrong with it.",
            "additionalProperties": {"type": "array", "items": _TEXT, "minItems": 1},
        },
        "id": _UUID,
        "state": {"type": "string", "enum": list(State.values)},
        "job": ref("Job"),
    },
    "required": ["error", "message"],
    "additionalProperties": False,
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "JobSummary": _object(_JOB_SUMMARY, "A job, without its arguments and result."),
    "Job": _object(_JOB_DETAIL, "A job with everything stored about it."),
    "Attempt": _object(_ATTEMPT, "One run of a job by a worker."),
    "Queue": _object(_QUEUE, "A named lane of jobs with its own limits."),
    "Role": _object(_ROLE, "A named set of queues that a worker serves."),
    "DeadLetter": _object(_DEAD_LETTER, "The record of a job that failed for good."),
    "DeadLetterDetail": _object(
        {
            **_DEAD_LETTER,
            "job": ref("Job"),
            "attempts": {"type": "array", "items": ref("Attempt")},
        },
        "A dead letter with its job and the job's full attempt history.",
    ),
    "JobPage": page_schema("JobSummary"),
    "QueuePage": page_schema("Queue"),
    "RolePage": page_schema("Role"),
    "DeadLetterPage": page_schema("DeadLetter"),
    "Error": _ERROR,
}
