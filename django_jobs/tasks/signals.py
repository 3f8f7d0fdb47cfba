"""The framework's ``task_enqueued``, ``task_started`` and ``task_finished``, sent from ours.

django_jobs sends its own signals after each change is committed; for the jobs that came
through a ``JobsBackend`` (``meta["tasks_backend"]``), these receivers send the framework's
signal with the job's ``TaskResult`` (sender: the backend's class). ``task_finished`` follows
``job_succeeded``, ``job_failed`` (failed for good, not a retry) and ``job_cancelled``.
Framework receivers are called robustly: one that raises is logged and never breaks a worker.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from django_jobs import signals as jobs_signals
from django_jobs.tasks import compat


def connect() -> None:
    """Connect the receivers (once: ``dispatch_uid`` makes a second call a no-op)."""
    jobs_signals.job_enqueued.connect(_enqueued, dispatch_uid="django_jobs.tasks.enqueued")
    jobs_signals.job_started.connect(_started, dispatch_uid="django_jobs.tasks.started")
    for signal in (
        jobs_signals.job_succeeded,
        jobs_signals.job_failed,
        jobs_signals.job_cancelled,
    ):
        signal.connect(_finished, dispatch_uid="django_jobs.tasks.finished")


def _backend_of(job: Any) -> Any:
    """The ``JobsBackend`` the job was enqueued through, or ``None``."""
    from django_jobs.backend import JobsBackend
    from django_jobs.tasks.results import backend_alias

    alias = backend_alias(job)
    if alias is None:
        return None
    try:
        backend = compat.task_backends[alias]
    except compat.InvalidTaskBackend:  # the alias left TASKS since the job was enqueued
        return None
    return backend if isinstance(backend, JobsBackend) else None


def _send(signal: Signal, backend: Any, result: Any) -> None:
    if result is not None:
        signal.send_robust(type(backend), task_result=result)


def _enqueued(sender: Any, job: Any, **kwargs: Any) -> None:
    from django_jobs.tasks.results import task_for, task_result

    backend = _backend_of(job)
    if backend is None:
        return
    task = task_for(job, backend.alias)
    if task is not None:  # a fresh row has no attempts: built without a query
        _send(compat.task_enqueued, backend, task_result(job, [], task, backend.alias))


def _started(sender: Any, job: Any, **kwargs: Any) -> None:
    from django_jobs.tasks.results import remember_running, result_of

    backend = _backend_of(job)
    if backend is None:
        return
    result = result_of(job.pk, backend.alias)
    if result is not None:
        remember_running(job, result)  # the task's TaskContext reuses it
    _send(compat.task_started, backend, result)


def _finished(sender: Any, job: Any, **kwargs: Any) -> None:
    from django_jobs.tasks.results import result_of

    backend = _backend_of(job)
    if backend is not None:
        _send(compat.task_finished, backend, result_of(job.pk, backend.alias))
