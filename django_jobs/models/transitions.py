"""The one writer of job state: every change of ``Job.state`` and ``claim_token`` is here.

A :class:`Transition` names the states it may start from and its target. Each is checked
against the table in :mod:`django_jobs.states` when this module is imported: a transition the
table does not allow is a programming error, not a runtime condition.

A transition is written as one conditional UPDATE:

* :meth:`Transition.apply` moves one job, *from the state its caller saw* (``job.state``,
  read when the object was loaded) and, for a transition made by the worker holding the job,
  only while the row still carries that claim token ("fencing"). A row that moved meanwhile
  is left alone and ``apply`` returns ``False``: a stale object never wins over a worker.
* :meth:`Transition.apply_many` moves every row of a queryset still in one of the
  transition's source states (staging, put-back, replace), and returns how many moved.

The vendor SQL of the hot path (claim, batched ends) takes its from/to states from the
transitions below (:attr:`Transition.source`, :attr:`Transition.target`), so a state written
there is one this table allows too.

This module needs no import of the model: it works on the job's class, or on a queryset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import QuerySet

from django_jobs import states
from django_jobs.conf import jobs_settings
from django_jobs.db.notify import CANCEL_WAKEUP, wake_workers
from django_jobs.states import State

if TYPE_CHECKING:
    from django_jobs.models.job import Job

#: The fields a transition may not be given: it writes them itself.
_OWN_FIELDS = frozenset({"state"})


@dataclass(frozen=True)
class Transition:
    """A named move of a job from one of ``sources`` to ``target``.

    ``fenced``: made on behalf of the worker holding the job; the UPDATE also matches the
    claim token the caller holds, so a worker whose job was taken away changes nothing.
    """

    name: str
    sources: tuple[str, ...]
    target: str
    fenced: bool = False

    def __post_init__(self) -> None:
        refused = [s for s in self.sources if not states.can_transition(s, self.target)]
        if refused or not self.sources:
            raise ValueError(
                f"transition {self.name!r}: the table in django_jobs.states does not allow "
                f"{', '.join(refused) or '(no source)'} -> {self.target}"
            )

    @property
    def source(self) -> str:
        """The one source state (for SQL written against a single state)."""
        if len(self.sources) != 1:
            raise ValueError(f"transition {self.name!r} has several sources: {self.sources}")
        return self.sources[0]

    def allows(self, current: str) -> bool:
        return current in self.sources

    def apply(self, job: Job, *, using: str | None = None, **fields: Any) -> bool:
        """Move ``job`` to ``target`` if its row is still in ``job.state`` (and, when fenced,
        still carries ``job.claim_token``); write ``fields`` with it.

        Returns whether the row moved; when it did, ``job`` holds the values written.
        A caller that saw a state this transition does not start from moves nothing.
        ``using``: the database alias (default: the jobs database).
        """
        if not self.write(job, using=using, **fields):
            return False
        job.state = self.target
        for name, value in fields.items():
            setattr(job, name, value)
        return True

    def write(self, job: Job, *, using: str | None = None, **fields: Any) -> bool:
        """:meth:`apply` without changing ``job`` in memory: for a writer whose caller sets
        the values once its whole batch is committed."""
        seen = job.state
        if not self.allows(seen):
            return False
        alias = using or jobs_settings.DATABASE
        query = type(job).objects.using(alias).filter(pk=job.pk, state=seen)
        if self.fenced:
            query = query.filter(claim_token=job.claim_token)
        return query.update(state=self.target, **self._checked(fields)) == 1

    def apply_many(self, rows: QuerySet[Job], **fields: Any) -> int:
        """Move every row of ``rows`` still in a source state; return how many moved.

        One source is written as ``state = %s`` (not ``IN``), which the partial indexes on
        ``state`` (dj_job_claim, dj_job_due, dj_job_running) match.
        """
        if len(self.sources) == 1:
            narrowed = rows.filter(state=self.sources[0])
        else:
            narrowed = rows.filter(state__in=self.sources)
        return narrowed.update(state=self.target, **self._checked(fields))

    def _checked(self, fields: dict[str, Any]) -> dict[str, Any]:
        if _OWN_FIELDS & fields.keys():
            raise TypeError(f"transition {self.name!r} writes the state itself")
        return fields


WAITING = (State.SCHEDULED, State.QUEUED)

# --- waiting jobs ----------------------------------------------------------------------------

#: A scheduled job whose ``run_at`` has come is ready (the worker's staging; inline mode and
#: ``testing.run_jobs`` promoting scheduled jobs).
STAGE = Transition("stage", (State.SCHEDULED,), State.QUEUED)
#: ``Job.run_now()``: a scheduled job is ready at once, ``run_at`` now.
RUN_NOW = Transition("run_now", (State.SCHEDULED,), State.QUEUED)
#: ``Job.cancel()`` of a waiting job.
CANCEL = Transition("cancel", WAITING, State.CANCELLED)
#: ``on_conflict="replace"``: the waiting holder of a key is cancelled for the new job.
REPLACE = Transition("replace", WAITING, State.CANCELLED)
#: A worker takes a ready job: a fresh claim token, the worker, the attempt started.
CLAIM = Transition("claim", (State.QUEUED,), State.RUNNING)

# --- running jobs (fenced by the claim token) -----------------------------------------------

SUCCEED = Transition("succeed", (State.RUNNING,), State.SUCCEEDED, fenced=True)
FAIL = Transition("fail", (State.RUNNING,), State.FAILED, fenced=True)
#: The attempt ended by a cancel (interrupted, or asked to stop before it started).
CANCEL_RUNNING = Transition("cancel_running", (State.RUNNING,), State.CANCELLED, fenced=True)
#: A retry waiting out its backoff.
RETRY_LATER = Transition("retry_later", (State.RUNNING,), State.SCHEDULED, fenced=True)
#: A retry at once, a lost job requeued, an interrupted one put back without using a retry.
RETRY_NOW = Transition("retry_now", (State.RUNNING,), State.QUEUED, fenced=True)
#: A claimed row of a newer version than this worker knows: left for a worker that knows it.
DEFER = Transition("defer", (State.RUNNING,), State.SCHEDULED, fenced=True)
#: Claimed jobs a worker (process) holds but had not started, or had run without recording:
#: back to ``queued`` with their attempt taken back (the worker's own, or a dead one's).
PUT_BACK = Transition("put_back", (State.RUNNING,), State.QUEUED)

#: The transitions that record an attempt's end (one per state ``record.next_state`` may choose).
ENDINGS = (SUCCEED, FAIL, CANCEL_RUNNING, RETRY_LATER, RETRY_NOW)
_ENDINGS = {t.target: t for t in ENDINGS}

#: Every transition, by name (the docs' table and the tests walk it).
ALL: dict[str, Transition] = {
    t.name: t
    for t in (
        STAGE,
        RUN_NOW,
        CANCEL,
        REPLACE,
        CLAIM,
        SUCCEED,
        FAIL,
        CANCEL_RUNNING,
        RETRY_LATER,
        RETRY_NOW,
        DEFER,
        PUT_BACK,
    )
}


def ending(target: str) -> Transition:
    """The fenced transition from ``running`` that ends an attempt in ``target``."""
    return _ENDINGS[target]


def expiry(job: Job, now: Any) -> Any:
    """When a job finishing now may be pruned: its definition's ``result_ttl`` after now
    (the global default when this process does not know the definition)."""
    definition = job.definition
    ttl = definition.effective_result_ttl if definition else jobs_settings.DEFAULT_RESULT_TTL
    return None if ttl is None else now + ttl


def request_cancel(job: Job, now: Any) -> bool:
    """Ask the worker running ``job`` to stop it (``cancel_requested_at``) and wake it.

    Not a change of state (the worker makes it, :data:`CANCEL_RUNNING`), but written on the
    same condition: only while the row is ``running``. Returns whether it was asked.
    """
    alias = jobs_settings.DATABASE
    rows = type(job).objects.using(alias).filter(pk=job.pk, state=State.RUNNING)
    if not rows.update(cancel_requested_at=now):
        return False
    job.cancel_requested_at = now
    wake_workers(connections[alias], [CANCEL_WAKEUP])
    return True
