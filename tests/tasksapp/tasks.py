"""``@task`` functions the Tasks framework tests enqueue through django_jobs.backend.JobsBackend.

The test settings give every task of the backend ``max_retries=2`` and ``retry_delay=None``
(retries at once), so a failing task has three attempts.
"""

from __future__ import annotations

import asyncio

from django_jobs.tasks.compat import TaskContext
from django_jobs.tasks.task_class import JobsTask

try:
    from django.tasks import task
except ImportError:
    from django_tasks import task


@task
def add(a: int, b: int = 0) -> int:
    return a + b


@task(priority=10, queue_name="tasks")
def label(text: str) -> str:
    return text


@task
async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@task
def fails(message: str) -> None:
    raise ValueError(message)


@task
def calls_exit() -> None:
    exit(3)  # the builtin, as careless task code would


@task(takes_context=True)
def flaky(context: TaskContext, succeed_on: int) -> dict:
    """Fails until attempt ``succeed_on``; returns what its context said."""
    if context.attempt < succeed_on:
        raise RuntimeError(f"attempt {context.attempt} fails")
    result = context.task_result
    return {
        "attempt": context.attempt,
        "id": result.id,
        "status": str(result.status),
        "worker_ids": result.worker_ids,
        "errors": [error.exception_class_path for error in result.errors],
        "args": result.args,
    }


@task(takes_context=True)
async def async_context(context: TaskContext, value: int) -> dict:
    await asyncio.sleep(0)
    return {"attempt": context.attempt, "id": context.task_result.id, "value": value}


if JobsTask is not None:  # Django 6.1+: @task passes job options to JobsBackend.task_class

    @task(max_retries=0, timeout=5)
    def with_options(x: int) -> int:
        return x
