"""The engine contract: what the worker and the services ask of the jobs database.

An engine is one object per kind of database (``django_jobs.db.for_connection`` picks it):
PostgreSQL, SQLite (3.35 and later), MySQL / MariaDB, and the generic engine (the ORM: older
SQLite, any other database). Callers use only the operations below and read what the engine
can do from its ``capabilities``; they never test for the vendor or for an attribute. An
engine imports no other engine and nothing of the worker or the services (``.importlinter``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

from django.db.backends.base.base import BaseDatabaseWrapper

from django_jobs.limits import Limits

if TYPE_CHECKING:
    from django_jobs.models import Job


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do. A limit it cannot enforce is reported by system check
    ``django_jobs.W006`` (definitions, queues) or refused at enqueue (``group_key``)."""

    #: How an enqueue gets the ``Queue`` rows of new queues: ``"created"``, the INSERT
    #: creates them itself; ``"required"``, the INSERT writes only when they exist (the
    #: caller creates them and inserts again); ``None``, the caller creates them first.
    queue_rows: Literal["created", "required"] | None = None
    #: Workers can be woken by the database (``listen()``); else they poll.
    wakeups: bool = False
    #: ``Queue.max_concurrent`` holds in the claim (jobs of a queue running per worker).
    queue_max_concurrent: bool = False
    #: ``@job(max_concurrent=..., max_running=...)`` hold in the claim.
    definition_caps: bool = False
    #: At most one running job per ``group_key`` holds in the claim.
    group_keys: bool = False


class Ending(NamedTuple):
    """The end of one attempt, as ``record_ends`` writes it: the job's next state and its
    attempt row."""

    job: Job
    #: The job's columns to write, ``state`` among them (``record.next_state``'s fields,
    #: with ``started_at``).
    fields: dict[str, Any]
    #: When the attempt ended (its attempt row's ``finished_at``).
    ended: datetime
    #: The attempt row's outcome and error.
    outcome: str
    error_type: str = ""
    message: str = ""
    traceback: str = ""


class Listener(Protocol):
    """A connection that waits for wake-ups."""

    def wait(self, seconds: float) -> frozenset[str]:
        """Block up to ``seconds``; the payloads of the wake-ups that arrived (none: the
        time ran out)."""

    def close(self) -> None: ...


class Engine(Protocol):
    """The operations of the hot path. ``connection`` is Django's connection to the jobs
    database, or the engine's own ``worker_session()`` where it has one."""

    name: str
    capabilities: Capabilities

    def insert_jobs(
        self,
        connection: BaseDatabaseWrapper,
        jobs: Sequence[Job],
        *,
        ignore_conflicts: bool,
        new_queues: Sequence[str] = (),
    ) -> set[uuid.UUID]:
        """Enqueue: insert ``jobs``, waking the workers of their queues; return the ids
        inserted (with ``ignore_conflicts``, a key conflict skips a row). ``new_queues``:
        queues that may lack a ``Queue`` row, as ``capabilities.queue_rows`` says."""

    def claim_jobs(
        self,
        connection: Any,
        *,
        queues: Sequence[str] | None,
        limit: int,
        worker: str,
        now: datetime,
        limits: Limits | None = None,
    ) -> list[Job]:
        """Claim up to ``limit`` ready jobs of ``queues`` (``None``: every queue) for
        ``worker``, in claim order, by the ``claim`` transition; paused and ``excluded``
        queues are skipped, and the other ``limits`` as ``capabilities`` say."""

    def lock_claims(self, connection: BaseDatabaseWrapper) -> None:
        """Serialise limited claims across the cluster until the transaction ends."""

    def record_ends(self, connection: Any, ends: Sequence[Ending], worker: str) -> set[uuid.UUID]:
        """Record the ends of attempts (successes, retries, failures, cancels: whatever
        needs no other row than the attempt's): move each job by the fenced ending
        transition of its ``fields["state"]`` and write its attempt row, in one
        transaction; return the ids written (a job whose row no longer carries its claim
        token is left out)."""

    def stage_due(self, connection: BaseDatabaseWrapper, now: datetime) -> int:
        """Stage due jobs: scheduled jobs whose ``run_at`` has come become ready."""

    def declare_dead(
        self, connection: BaseDatabaseWrapper, silent_since: datetime, now: datetime
    ) -> list[str]:
        """Rescue, the database's part: mark dead the workers silent since
        ``silent_since``; return those this caller won (each is won by exactly one)."""

    def notify(self, connection: BaseDatabaseWrapper, queues: Sequence[str]) -> None:
        """Wake the workers of ``queues`` (at commit); nothing without ``wakeups``."""

    def listen(self, alias: str) -> Listener | None:
        """A listener for wake-ups; ``None`` when this engine (or its driver) has none.
        Raises when the database cannot be reached."""

    def worker_session(self, alias: str) -> Any:
        """A worker process's own connection for its claims and completions, or ``None``
        (Django's connection serves)."""
