"""django_jobs as a backend of Django's Tasks framework (``django.tasks`` or the backport).

::

    TASKS = {
        "default": {
            "BACKEND": "django_jobs.backend.JobsBackend",
            "QUEUES": ["default", "emails"],           # the queue names tasks may use
            "OPTIONS": {"max_retries": 3, "timeout": 60},  # defaults of every task
        }
    }

A ``@task`` becomes a job definition named by its module path (``myapp.tasks.send``, version
1), registered when its ``Task`` is built; ``runjobs`` imports the ``tasks.py`` and ``jobs.py``
of every installed app at start-up, so it knows them. Priority, ``run_after`` and
``queue_name`` become the job's ``priority``, ``run_at`` and ``queue``; the job's ``meta``
records the backend alias. See docs/howto/tasks-backend.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.core import checks

from django_jobs.tasks.compat import (
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskResult,
    TaskResultDoesNotExist,
    task_backends,
)
from django_jobs.tasks.task_class import JobsTask


class JobsBackend(BaseTaskBackend):
    """Tasks run as django_jobs jobs: retries, timeouts, rescue and the admin included."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True
    if JobsTask is not None:  # Django 6.1+: @task(max_retries=5, timeout=30, ...) per task
        task_class = JobsTask

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        from django_jobs.tasks.definitions import task_options

        super().__init__(alias, params)
        #: ``@job`` options given to every task of this backend (checked here, loudly).
        self.task_options = task_options(alias, params.get("OPTIONS", {}))

    def validate_task(self, task: Task) -> None:
        """The framework's checks, then ours (a queue name we can store); then register it."""
        super().validate_task(task)
        self.register(task)

    def register(self, task: Task) -> Any:
        """The django_jobs ``Definition`` that runs ``task`` (registered on first sight)."""
        from django_jobs import options as opt
        from django_jobs.tasks.definitions import definition_for

        problem = opt.queue_problem(task.queue_name)
        if problem:
            raise InvalidTask(f"queue_name {problem}")
        return definition_for(task, self.task_options)

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        """Write the job (one INSERT; atomic with the caller's transaction) and return its
        result. Bad arguments raise ``TypeError`` and bad options ``InvalidTask``, unwritten."""
        from django_jobs.enqueue import InvalidEnqueue
        from django_jobs.tasks import results

        self.validate_task(task)
        meta: dict[str, Any] = {results.META_BACKEND: self.alias}
        if task.run_after is not None:
            meta[results.META_RUN_AFTER] = task.run_after.isoformat()
        try:
            request = self.register(task).using(
                queue=task.queue_name,
                priority=int(task.priority),
                run_at=task.run_after,
                meta=meta,
            )
        except InvalidEnqueue as exc:
            raise InvalidTask(str(exc)) from None
        job = request.enqueue(*args, **kwargs)
        if job.attempts:  # inline mode (DJANGO_JOBS_INLINE) ran it already
            return self.get_result(str(job.pk))
        return results.task_result(job, [], task, self.alias)

    async def aenqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        return await sync_to_async(self.enqueue, thread_sensitive=True)(task, args, kwargs)

    def get_result(self, result_id: str) -> TaskResult:
        """The result of a task enqueued through this backend, read with one query."""
        from django_jobs.ids import parse_job_id
        from django_jobs.tasks.results import result_of

        try:
            job_id = parse_job_id(result_id)
        except ValueError:
            raise TaskResultDoesNotExist(f"{result_id!r} is not a task result id") from None
        result = result_of(job_id, self.alias)
        if result is None:
            raise TaskResultDoesNotExist(
                f"no task result {result_id} for backend {self.alias!r} (a job of another "
                "backend, not a task, or a task this process has not registered)"
            )
        return result

    async def aget_result(self, result_id: str) -> TaskResult:
        return await sync_to_async(self.get_result, thread_sensitive=True)(result_id)

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        from django_jobs import options as opt

        messages = list(super().check(**kwargs))
        for name in sorted(self.queues):
            problem = opt.queue_problem(name)
            if problem:
                messages.append(
                    checks.Error(
                        f"TASKS[{self.alias!r}]['QUEUES'] lists {name!r}, which is not a valid "
                        f"django_jobs queue name: it {problem}",
                        hint="Rename the queue; tasks on it are refused (InvalidTask).",
                        obj=f"TASKS[{self.alias!r}]",
                        id="django_jobs.E030",
                    )
                )
        return messages


def register_discovered(modules: Iterable[Any]) -> int:
    """Register every ``Task`` of ``modules`` whose backend is a ``JobsBackend``; return how many.

    Called by ``autodiscover`` for the apps' ``tasks.py`` and ``jobs.py``. Tasks register
    themselves when they are built (``validate_task``); this makes sure of it, whatever the
    order in which modules and backends were set up.
    """
    count = 0
    for module in modules:
        for value in list(vars(module).values()):
            if isinstance(value, Task):
                backend = task_backends[value.backend]
                if isinstance(backend, JobsBackend):
                    backend.register(value)
                    count += 1
    return count
