"""The job states and the transitions allowed between them: the only place they are defined.

::

    scheduled ──► queued ──► running ──► succeeded
        │  ▲        │  ▲        │ │ │
        │  └────────┼──┼────────┘ │ └──► failed
        │           │  └──────────┘       (rescued / requeued on shutdown)
        └───────────┴──────────────────► cancelled   (also from running)

``scheduled`` covers both a future ``run_at`` and a retry waiting out its backoff. Finished
states are terminal: retrying a failed job creates a new job (a resubmission).
"""

from __future__ import annotations

from django.db import models

from django_jobs.exceptions import InvalidTransition


class State(models.TextChoices):
    SCHEDULED = "scheduled", "scheduled"
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


#: from-state -> the states it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    State.SCHEDULED: frozenset({State.QUEUED, State.CANCELLED}),
    State.QUEUED: frozenset({State.RUNNING, State.CANCELLED}),
    State.RUNNING: frozenset(
        {
            State.SUCCEEDED,
            State.FAILED,
            State.CANCELLED,
            State.SCHEDULED,  # retry after a backoff
            State.QUEUED,  # rescued from a dead worker, requeued at shutdown, immediate retry
        }
    ),
    State.SUCCEEDED: frozenset(),
    State.FAILED: frozenset(),
    State.CANCELLED: frozenset(),
}

#: States in which a job still holds its ``key`` and may run.
ACTIVE_STATES: tuple[str, ...] = (State.SCHEDULED, State.QUEUED, State.RUNNING)
#: States a job ends in.
FINISHED_STATES: tuple[str, ...] = (State.SUCCEEDED, State.FAILED, State.CANCELLED)


def can_transition(current: str, target: str) -> bool:
    """True when the table allows ``current -> target``."""
    return target in TRANSITIONS.get(current, frozenset())


def sources(target: str) -> tuple[str, ...]:
    """Every state from which ``target`` can be reached (used to narrow UPDATE statements)."""
    return tuple(state for state, targets in TRANSITIONS.items() if target in targets)


def check_transition(current: str, target: str, *, job_id: object = None) -> None:
    """Raise :class:`InvalidTransition` with a clear message when the move is not allowed."""
    if can_transition(current, target):
        return
    which = f"job {job_id}" if job_id is not None else "a job"
    if current in FINISHED_STATES:
        reason = f"{which} is already {current}; a finished job cannot become {target}"
    else:
        reason = f"{which} cannot go from {current} to {target}"
    raise InvalidTransition(reason, current=current, target=target)
