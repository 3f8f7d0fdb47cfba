"""Every error django_jobs raises: one base class, one subclass per failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_jobs.models import Job


class JobsError(Exception):
    """Base class of every error raised by django_jobs."""


class JobDefinitionError(JobsError, ValueError):
    """A job definition is invalid; the message names the definition and the option.

    ``check_id`` is the system check id under which ``manage.py check`` reports it.
    """

    def __init__(self, message: str, *, check_id: str = "django_jobs.E010") -> None:
        super().__init__(message)
        self.check_id = check_id


class UnknownJob(JobsError, LookupError):
    """No definition with this name (and version) is registered in this process."""


class DuplicateJob(JobsError):
    """An active job with the same ``key`` exists and ``on_conflict="raise"`` was asked.

    ``existing`` is the job that holds the key.
    """

    def __init__(self, message: str, existing: Job | None = None) -> None:
        super().__init__(message)
        self.existing = existing


class InvalidTransition(JobsError):
    """A state change that the transition table does not allow (say, cancelling a finished job)."""

    def __init__(self, message: str, *, current: str, target: str) -> None:
        super().__init__(message)
        self.current = current
        self.target = target


class JobFailed(JobsError):
    """``Job.wait()`` saw the job end in ``failed`` or ``cancelled``; ``job`` is the final row."""

    def __init__(self, job: Job) -> None:
        detail = f": {job.last_error}" if job.last_error else ""
        super().__init__(f"job {job.pk} ({job.name}) ended {job.state}{detail}")
        self.job = job


class JobWaitTimeout(JobsError, TimeoutError):
    """``Job.wait(timeout=...)`` gave up before the job finished; the job itself goes on."""


class JobTimeout(JobsError):
    """Raised inside a running job when it exceeds its ``timeout`` (the soft timeout).

    It derives from ``Exception`` so ordinary cleanup code runs; a job that swallows it is
    stopped hard after a short grace.
    """


class JobCancelled(JobsError):
    """Raised inside a running job when it is cancelled.

    Sync jobs meet it at ``heartbeat()``, async jobs at their next ``await``.
    """


class JobInterrupted(JobsError):
    """Raised inside a running job when its worker shuts down and the job's ``on_shutdown`` is
    ``requeue`` (put back without using up a retry) or ``stop`` (fail it)."""

    def __init__(self, message: str, *, requeue: bool) -> None:
        super().__init__(message)
        self.requeue = requeue


class JobResultError(JobsError, TypeError):
    """A job returned a value that cannot be stored as JSON."""


def describe(value: Any) -> str:
    """A short, safe description of a value for error messages (type and a clipped repr)."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"
