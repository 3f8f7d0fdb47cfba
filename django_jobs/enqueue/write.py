"""Enqueue writing: one INSERT (per chunk), key conflicts, ``Queue`` rows, ``job_enqueued``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import connections, transaction
from django.utils import timezone

from django_jobs import db, signals
from django_jobs.conf import jobs_settings
from django_jobs.enqueue import inline
from django_jobs.enqueue.validate import bad_option
from django_jobs.exceptions import DuplicateJob
from django_jobs.models import Job, Queue, transitions
from django_jobs.states import ACTIVE_STATES, State

if TYPE_CHECKING:
    pass


_known_queues: dict[str, set[str]] = {}


def ensure_queues(alias: str, names: Iterable[str]) -> None:
    """Create ``Queue`` rows on first use (once per process per queue name)."""
    missing = sorted(set(names) - _known_queues.get(alias, set()))
    if missing:
        Queue.objects.using(alias).bulk_create(
            [Queue(name=n) for n in missing], ignore_conflicts=True
        )
        remember_queues(alias, missing)


def remember_queues(alias: str, names: list[str]) -> None:
    """Know from the commit on that these queues have their rows (never after a rollback)."""
    if names:
        known = _known_queues.setdefault(alias, set())
        transaction.on_commit(lambda: known.update(names), using=alias)


def forget_queues() -> None:
    """Forget which queues exist (tests that flush the database call this)."""
    _known_queues.clear()


def write_jobs(
    jobs: list[Job], alias: str, on_conflict: str, *, skip_conflicts: bool = False
) -> list[Job]:
    """Insert ``jobs`` atomically; resolve key conflicts per ``on_conflict``.

    Returns one job per input position: the inserted row, or the active job holding its key.
    ``skip_conflicts``: rows that hit any unique constraint are dropped (schedule ticks that
    another worker already enqueued), and only the inserted rows are returned.

    The INSERT also wakes the workers (NOTIFY on PostgreSQL, in the same statement). No
    explicit transaction is opened when that one statement is all that writes: it has no
    key, or is a single keyed row that replaces nothing (after a conflict nothing was
    written, so looking up the holder, and inserting again if it finished meanwhile, needs
    no transaction around it). The ``Queue`` rows of queues this process has not seen yet
    (``new``) are where the engine allows part of that statement (``queue_rows``):

    * ``"created"`` (PostgreSQL): the INSERT creates the missing rows itself, in a CTE;
    * ``"required"`` (SQLite): the INSERT writes only when every row exists already; when it
      wrote nothing, the rows are created and the jobs inserted in a transaction;
    * none (the ORM path): the rows are created first, in a transaction with the jobs.

    A keyed enqueue with ``on_conflict="raise"`` on a new queue is also written in a
    transaction, so that its ``DuplicateJob`` leaves no ``Queue`` row behind.
    """
    connection = connections[alias]
    ops = db.for_connection(connection)
    _refuse_unenforced(jobs, ops)
    chosen = [j.id for j in jobs if getattr(j, "_chosen_id", False)]
    if chosen and Job.objects.using(alias).filter(pk__in=chosen).exists():
        raise DuplicateJob(f"a job with id {chosen[0]} exists already")
    keyed = any(j.key is not None for j in jobs)
    new = sorted({j.queue for j in jobs} - _known_queues.get(alias, set()))
    queue_rows = ops.capabilities.queue_rows
    one_statement = not skip_conflicts and (
        not keyed or (len(jobs) == 1 and on_conflict != "replace")
    )
    if new and (queue_rows is None or (keyed and on_conflict == "raise")):
        one_statement = False
    inserted = None
    if one_statement:
        inserted = ops.insert_jobs(connection, jobs, ignore_conflicts=keyed, new_queues=new)
        if new and not inserted and queue_rows == "required":
            inserted = None  # a Queue row is missing (or the key is taken): see below
        else:
            result = _outcome(jobs, inserted, alias, on_conflict, ops, skip_conflicts)
    if inserted is None:
        with transaction.atomic(using=alias):
            if queue_rows != "created":
                ensure_queues(alias, new)
            if keyed and on_conflict == "replace":
                _cancel_waiting([j.key for j in jobs if j.key is not None], alias)
            inserted = ops.insert_jobs(
                connection,
                jobs,
                ignore_conflicts=keyed or skip_conflicts,
                new_queues=new if queue_rows == "created" else (),
            )
            result = _outcome(jobs, inserted, alias, on_conflict, ops, skip_conflicts)
    remember_queues(alias, new)
    for job in jobs:
        job._state.adding, job._state.db = False, alias
        job._inserted = job.id in inserted  # type: ignore[attr-defined]
    return result


def _refuse_unenforced(jobs: list[Job], engine: db.Engine) -> None:
    """An engine that cannot hold a ``group_key`` refuses it: running two jobs of a group at
    once, when the caller asked for one, would be worse than an error."""
    if not engine.capabilities.group_keys and any(j.group_key is not None for j in jobs):
        raise bad_option(
            "group_key",
            f"cannot be enforced by the {engine.name} engine of the jobs database (SQLite "
            "before 3.35, or another database): leave it out, or keep the jobs tables in "
            "PostgreSQL, SQLite 3.35+ or MySQL/MariaDB",
        )


def _outcome(
    jobs: list[Job],
    inserted: set[Any],
    alias: str,
    on_conflict: str,
    ops: Any,
    skip_conflicts: bool,
) -> list[Job]:
    """The jobs ``write_jobs`` returns, once ``inserted`` (the ids written) is known."""
    if skip_conflicts:
        return [j for j in jobs if j.id in inserted]
    if len(inserted) < len(jobs):
        return _resolve_conflicts(jobs, inserted, alias, on_conflict, ops)
    return jobs


#: ``last_error`` of a job cancelled by ``on_conflict="replace"``.
REPLACED = "replaced by a newer job with the same key"


def _cancel_waiting(keys: list[str], alias: str) -> None:
    """``on_conflict="replace"``: cancel the waiting (``queued``/``scheduled``) holders of
    ``keys``, each expiring by its own definition's ``result_ttl``; ``job_cancelled`` is sent
    for each after the commit.

    The holders are locked where the database can (a claim skips a locked row, so a holder
    is either claimed before, and then running and kept, or not at all) and moved by the
    ``replace`` transition, which moves only rows still waiting.
    """
    now = timezone.now()
    waiting = Job.objects.using(alias).filter(key__in=keys, state__in=transitions.REPLACE.sources)
    if connections[alias].features.has_select_for_update:
        waiting = waiting.select_for_update()
    holders = list(waiting)
    if not holders:
        return
    by_definition: dict[tuple[str, int], list[Job]] = {}
    for job in holders:
        by_definition.setdefault((job.name, job.version), []).append(job)
    moved = 0
    for group in by_definition.values():
        fields = {
            "finished_at": now,
            "expires_at": transitions.expiry(group[0], now),
            "last_error": REPLACED,
        }
        rows = Job.objects.using(alias).filter(pk__in=[j.pk for j in group])
        moved += transitions.REPLACE.apply_many(rows, **fields)
        for job in group:
            job.state = State.CANCELLED
            for name, value in fields.items():
                setattr(job, name, value)
    if moved == len(holders):
        cancelled = holders
    else:  # without row locks, a claim took some of them between our read and our write
        cancelled = list(
            Job.objects.using(alias).filter(
                pk__in=[j.pk for j in holders], state=State.CANCELLED, finished_at=now
            )
        )

    def announce() -> None:
        for job in cancelled:
            signals.job_cancelled.send_robust(Job, job=job)

    transaction.on_commit(announce, using=alias)


def _resolve_conflicts(
    jobs: list[Job], inserted: set[Any], alias: str, on_conflict: str, ops: Any
) -> list[Job]:
    """Map every row that lost its key to the active job holding it (or raise).

    A holder may finish between our INSERT and this SELECT, freeing its key: such rows are
    inserted again (a few rounds at most; each round needs a job to finish in between).
    """
    batch = {j.key: j for j in reversed(jobs) if j.id in inserted and j.key is not None}
    holders: dict[str | None, Job] = dict(batch)
    for _ in range(5):
        lost = [j for j in jobs if j.id not in inserted and j.key not in holders]
        if not lost:
            break
        found = Job.objects.using(alias).filter(
            key__in={j.key for j in lost}, state__in=ACTIVE_STATES
        )
        holders.update({j.key: j for j in found})
        retry = [j for j in lost if j.key not in holders]
        if retry:
            inserted |= ops.insert_jobs(connections[alias], retry, ignore_conflicts=True)
            holders.update({j.key: j for j in retry if j.id in inserted})
    lost = [j for j in jobs if j.id not in inserted]
    if lost and on_conflict in ("raise", "replace"):
        holder = holders.get(lost[0].key)
        if holder is not None and holder.id in inserted:
            raise DuplicateJob(f"key {lost[0].key!r} is given twice in this enqueue_many")
        what = "cannot be replaced: it is running" if on_conflict == "replace" else "exists"
        raise DuplicateJob(
            f"an active job with key {lost[0].key!r} {what} (job {getattr(holder, 'pk', '?')})",
            existing=holder,
        )
    return [j if j.id in inserted else holders[j.key] for j in jobs]


def after_enqueue(jobs: list[Job], alias: str) -> None:
    """Send ``job_enqueued`` after commit; in inline mode, run the new jobs at once."""
    fresh = [j for j in jobs if getattr(j, "_inserted", False)]
    if signals.job_enqueued.has_listeners(Job):

        def send() -> None:
            for job in fresh:
                signals.job_enqueued.send_robust(Job, job=job)

        transaction.on_commit(send, using=alias)
    if jobs_settings.INLINE and fresh:
        transaction.on_commit(lambda: inline.run(fresh), using=alias)
