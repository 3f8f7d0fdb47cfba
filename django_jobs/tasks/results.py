"""A ``Job`` row and its attempts as the framework's ``TaskResult``.

States map as: ``scheduled`` and ``queued`` -> READY, ``running`` -> RUNNING, ``succeeded`` ->
SUCCESSFUL, ``failed`` and ``cancelled`` -> FAILED (the framework has no cancelled status).
Each attempt gives one worker id, and each attempt that did not succeed one ``TaskError``.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F

from django_jobs.conf import jobs_settings
from django_jobs.exceptions import JobCancelled, JobInterrupted, JobsError, JobTimeout
from django_jobs.models import Job, Outcome
from django_jobs.registry import registry
from django_jobs.states import State
from django_jobs.tasks.compat import InvalidTask, Task, TaskError, TaskResult, TaskResultStatus

#: The ``meta`` keys of a job enqueued through a ``JobsBackend``.
META_BACKEND = "tasks_backend"
META_RUN_AFTER = "run_after"

STATUS: dict[Any, Any] = {  # State -> TaskResultStatus
    State.SCHEDULED: TaskResultStatus.READY,
    State.QUEUED: TaskResultStatus.READY,
    State.RUNNING: TaskResultStatus.RUNNING,
    State.SUCCEEDED: TaskResultStatus.SUCCESSFUL,
    State.FAILED: TaskResultStatus.FAILED,
    State.CANCELLED: TaskResultStatus.FAILED,
}

#: The exception of an attempt that ended outside the job's own code (no exception recorded).
OUTCOME_ERRORS: dict[Any, type[BaseException]] = {
    Outcome.TIMEOUT: JobTimeout,  # stopped hard after ignoring its soft timeout
    Outcome.STALLED: JobTimeout,  # silent for longer than its heartbeat_timeout
    Outcome.CANCELLED: JobCancelled,
    Outcome.LOST: JobInterrupted,  # its worker stopped responding
    Outcome.INTERRUPTED: JobInterrupted,  # its worker shut down
}

_ATTEMPT_FIELDS = (
    "number",
    "worker",
    "started_at",
    "outcome",
    "error_type",
    "error_message",
    "traceback",
)

#: Where the ``TaskResult`` of the running attempt is kept on the ``Job`` (see signals.py).
_RUNNING = "_django_jobs_task_result"


@dataclass(frozen=True)
class Attempt:
    number: int
    worker: str
    started_at: datetime
    outcome: str
    error_type: str
    error_message: str
    traceback: str


def backend_alias(job: Job) -> str | None:
    """The TASKS alias a job was enqueued through, or ``None`` for a plain job."""
    alias = job.meta.get(META_BACKEND) if isinstance(job.meta, dict) else None
    return alias if isinstance(alias, str) else None


def load(job_id: uuid.UUID) -> tuple[Job, list[Attempt]] | None:
    """The job and its attempts in ONE query: a left join, one row per attempt."""
    joined = {f"attempt_{name}": F(f"attempt_history__{name}") for name in _ATTEMPT_FIELDS}
    rows = list(
        Job.objects.using(jobs_settings.DATABASE)
        .filter(pk=job_id)
        .annotate(**joined)
        .order_by("attempt_number")
    )
    if not rows:
        return None
    attempts = [
        Attempt(**{name: getattr(row, f"attempt_{name}") for name in _ATTEMPT_FIELDS})
        for row in rows
        if row.attempt_number is not None
    ]
    return rows[0], attempts


def task_of(definition: Any) -> Task | None:
    """The ``Task`` a definition runs, or ``None`` for a definition that is not a task.

    The callable registered for a task carries it as ``task`` (``definitions.runner_for``).
    """
    return getattr(getattr(definition, "func", None), "task", None)


def task_for(job: Job, alias: str) -> Task | None:
    """The job's ``Task`` with the options it was enqueued with, or ``None`` when this process
    has no task registered under the job's name (nothing is imported from the row)."""
    task = task_of(registry.find(job.name, job.version))
    if task is None:
        return None
    run_after = job.meta.get(META_RUN_AFTER) if isinstance(job.meta, dict) else None
    try:
        return task.using(
            priority=job.priority,
            queue_name=job.queue,
            run_after=datetime.fromisoformat(run_after) if isinstance(run_after, str) else None,
            backend=alias,
        )
    except (InvalidTask, ValueError):  # moved to a queue the backend no longer lists, say
        return task


def task_result(job: Job, attempts: list[Attempt], task: Task, alias: str) -> TaskResult:
    """The ``TaskResult`` of ``job``; ``attempts`` are its finished attempts, in order."""
    worker_ids = [a.worker for a in attempts]
    if job.state == State.RUNNING and len(worker_ids) < job.attempts:
        worker_ids.append(job.worker or "")  # the attempt under way has no row yet
    finished = job.state in (State.SUCCEEDED, State.FAILED, State.CANCELLED)
    result: TaskResult[..., Any] = TaskResult(
        task=task,
        id=str(job.pk),
        status=STATUS[job.state],
        enqueued_at=job.created_at,
        started_at=attempts[0].started_at if attempts else job.started_at,
        finished_at=job.finished_at if finished else None,
        last_attempted_at=job.started_at,
        args=job.args,
        kwargs=job.kwargs,
        backend=alias,
        errors=[task_error(a) for a in attempts if a.outcome != Outcome.SUCCEEDED],
        worker_ids=worker_ids,
    )
    if job.state == State.SUCCEEDED:
        object.__setattr__(result, "_return_value", job.result)
    return result


def task_error(attempt: Attempt) -> TaskError:
    cls = OUTCOME_ERRORS.get(attempt.outcome, JobsError)
    fallback = f"{cls.__module__}.{cls.__qualname__}"
    path = attempt.error_type if _loaded_exception(attempt.error_type) else fallback
    return TaskError(
        exception_class_path=path, traceback=attempt.traceback or attempt.error_message
    )


def _loaded_exception(path: str) -> bool:
    """Whether ``path`` names an exception class of a module this process has imported.

    The framework ``import_string``s the path it is given, and the path comes from the
    database: handing over anything else would import a module named by a row (SPEC §11).
    """
    module_name, _, attribute = path.rpartition(".")
    module = sys.modules.get(module_name) if module_name else None
    found = getattr(module, attribute, None) if module is not None else None
    return isinstance(found, type) and issubclass(found, BaseException)


def result_of(job_id: uuid.UUID, alias: str) -> TaskResult | None:
    """The ``TaskResult`` of a job enqueued through backend ``alias`` (one query), or ``None``."""
    loaded = load(job_id)
    if loaded is None:
        return None
    job, attempts = loaded
    task = task_for(job, alias) if backend_alias(job) == alias else None
    return None if task is None else task_result(job, attempts, task, alias)


def remember_running(job: Job, result: TaskResult) -> None:
    """Keep the running attempt's result on the job: its ``TaskContext`` needs no new query."""
    setattr(job, _RUNNING, result)


def running_result(job: Job) -> TaskResult:
    """The ``TaskResult`` of the job this process runs now."""
    kept: Any = getattr(job, _RUNNING, None)
    if kept is not None and kept.attempts == job.attempts:
        return kept
    alias = backend_alias(job)
    result = result_of(job.pk, alias) if alias else None
    if result is None:
        raise RuntimeError(f"job {job.pk} ({job.name}) was not enqueued as a task")
    remember_running(job, result)
    return result
