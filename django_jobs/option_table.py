"""Every job option, once: its check and the places where it may be given.

The places:

* ``DEFINITION``: a keyword of ``@job(...)``;
* ``RECURRING``: an attribute of a ``RecurringJob`` class (its own check where its meaning
  differs: ``interval = 0`` runs every loop iteration, ``timeout = 0`` is none, and
  ``max_retries`` counts the failures in a row after which the schedule is skipped);
* ``ENQUEUE``: a keyword of ``definition.using(...)`` and ``Job.enqueue(...)``;
* ``API``: a field of the body of ``POST jobs/`` (and of its JSON schema);
* ``BACKEND``: a key of a Tasks backend's ``OPTIONS``, the defaults of all its tasks;
* ``TASK``: a keyword of Django 6.1's ``@task(...)`` (``JobsBackend.task_class``).

``@job``, ``RecurringJob``, ``using()``, the API body, the Tasks backend and its task class
all read this table; the checks themselves are in ``django_jobs.options``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django_jobs import options as opt

DEFINITION, RECURRING, ENQUEUE, API, BACKEND, TASK = (
    "definition",
    "recurring",
    "enqueue",
    "api",
    "backend",
    "task",
)
_ALSO_FOR_TASKS = frozenset({DEFINITION, BACKEND, TASK})  # @job, OPTIONS and @task
_PER_ENQUEUE = frozenset({ENQUEUE, API})


@dataclass(frozen=True)
class Option:
    name: str
    check: opt.Check
    where: frozenset[str]
    #: The check of the ``RecurringJob`` attribute, where it differs from ``check``.
    recurring: opt.Check | None = None
    #: Why ``@task(...)`` refuses it (the framework's own word, or a schedule).
    not_for_tasks: str = ""

    def check_at(self, place: str) -> opt.Check:
        return self.recurring if place == RECURRING and self.recurring else self.check


_seconds = opt.seconds(allow_zero=False)
_seconds_or_zero = opt.seconds(allow_zero=True)
_cap = opt.count(minimum=1, allow_none=True)

OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        Option(
            "queue",
            opt.queue,
            frozenset({DEFINITION, RECURRING, ENQUEUE, API}),
            not_for_tasks="@task(queue_name=...) sets the queue",
        ),
        Option(
            "priority",
            opt.priority,
            frozenset({DEFINITION, RECURRING, ENQUEUE, API}),
            not_for_tasks="@task(priority=...) sets the priority",
        ),
        Option(
            "max_retries",
            opt.count(minimum=0, allow_none=True),
            _ALSO_FOR_TASKS | {RECURRING},
            recurring=opt.count(minimum=0),
        ),
        Option("retry_delay", _seconds_or_zero, _ALSO_FOR_TASKS),
        Option("backoff", opt.backoff, _ALSO_FOR_TASKS),
        Option("max_retry_delay", _seconds_or_zero, _ALSO_FOR_TASKS),
        Option("retry_on", opt.retry_on, frozenset({DEFINITION, TASK})),
        Option(
            "timeout",
            _seconds,
            _ALSO_FOR_TASKS | {RECURRING},
            recurring=opt.seconds(allow_zero=True, allow_none=False),
        ),
        Option("dead_letter", opt.flag, _ALSO_FOR_TASKS),
        Option("heartbeat_timeout", _seconds, frozenset({DEFINITION, TASK})),
        Option("max_concurrent", _cap, frozenset({DEFINITION, TASK})),
        Option("max_running", _cap, frozenset({DEFINITION, TASK})),
        Option("on_shutdown", opt.on_shutdown, frozenset({DEFINITION, TASK})),
        Option("result_ttl", opt.ttl, _ALSO_FOR_TASKS),
        Option("atomic", opt.flag, frozenset({DEFINITION, TASK})),
        # Not a BACKEND default: 'async' fits only async def tasks, 'thread' only def ones.
        Option("run_mode", opt.run_mode, frozenset({DEFINITION, RECURRING, TASK})),
        Option(
            "cron",
            opt.cron,
            frozenset({DEFINITION}),
            not_for_tasks="a schedule needs @job(cron=...)",
        ),
        Option(
            "interval",
            _seconds,
            frozenset({DEFINITION, RECURRING}),
            recurring=opt.seconds(allow_zero=True, allow_none=False),
            not_for_tasks="a schedule needs @job(interval=...)",
        ),
        Option(
            "durable",
            opt.flag,
            frozenset({DEFINITION, RECURRING}),
            not_for_tasks="a schedule is made non-durable with @job(cron=..., durable=False)",
        ),
        Option("meta", opt.meta, frozenset({DEFINITION, TASK}) | _PER_ENQUEUE),
        Option("id", opt.job_id, _PER_ENQUEUE),
        Option("run_at", opt.run_at, _PER_ENQUEUE),
        Option("delay", opt.delay, _PER_ENQUEUE),
        Option("key", opt.text, _PER_ENQUEUE),
        Option("on_conflict", opt.on_conflict, _PER_ENQUEUE),
        Option("group_key", opt.text, _PER_ENQUEUE),
    )
}

#: ``@job``'s own arguments, which are not options, that ``@task(...)`` refuses too.
NOT_TASK_ARGUMENTS = {
    "name": "a task is named by its module path",
    "version": "a task is always version 1",
    "func": "the decorated function is the task",
}


def names(place: str) -> tuple[str, ...]:
    """The options that may be given at ``place``, in the table's order."""
    return tuple(name for name, option in OPTIONS.items() if place in option.where)


def did_you_mean(name: object, place: str) -> str:
    """`` (did you mean 'backoff'?)`` for a near miss of an option of ``place``, else ``""``."""
    close = difflib.get_close_matches(str(name), names(place), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def task_refusals() -> dict[str, str]:
    """What ``@task(...)`` refuses, and why: ``@job``'s arguments and the options above."""
    refused = {o.name: o.not_for_tasks for o in OPTIONS.values() if o.not_for_tasks}
    return {**refused, **NOT_TASK_ARGUMENTS}
