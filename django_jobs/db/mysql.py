"""The MySQL / MariaDB engine (Django's vendor ``mysql``): a one-statement insert, a claim
that walks each served queue with ``SELECT ... FOR UPDATE SKIP LOCKED`` and holds every
limit, and a row lock that serialises limited claims; workers poll (no wake-ups).

The limits are read in the claim's transaction, before the candidates are locked: the
running jobs of each per-worker-limited queue in this worker, of each capped definition (in
the cluster and in this worker), and the groups with a running job. Those are plain reads
(no locking read looks at running rows, so a heartbeat never waits for a claim); the
candidates of a queue at its ``max_concurrent``, of a definition at a cap or of a busy group
are left out, and a batch counts its own picks against the same limits. The picks are
claimed by one UPDATE (a ``CASE`` gives each its claim token). Two workers cannot
see each other's uncommitted claims: while limited work exists the worker claims under
``lock_claims`` (one job a statement), so each claim sees every claim before it.

Migration 0003 gives these databases what their lack of partial indexes leaves out: the
active-key and schedule-tick uniqueness, the claim's index led by the state (state, queue,
priority DESC, run_at, id), so that a queue's walk reads and locks only the rows it
returns, and the one-row table ``django_jobs_claim_lock``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, Count, F, Q, UUIDField, Value, When

from django_jobs.db.engine import Capabilities
from django_jobs.db.orm import OrmEngine
from django_jobs.db.rows import INSERT_FIELDS, in_claim_order
from django_jobs.limits import Limits
from django_jobs.models import Job, Queue, transitions
from django_jobs.states import State

#: The one-row table whose row ``lock_claims`` locks (created by migration 0003).
CLAIM_LOCK_TABLE = "django_jobs_claim_lock"


def _insert_sql(connection: Any, rows: int, *, ignore: bool, required_queues: int) -> str:
    """A multi-row INSERT (``INSERT IGNORE`` with ``ignore``). With ``required_queues``, the
    rows come from a derived table and are written only when each of the last parameters
    names a queue with its ``Queue`` row (one statement still)."""
    quote = connection.ops.quote_name
    fields = [Job._meta.get_field(name) for name in INSERT_FIELDS]
    columns = ", ".join(quote(field.column) for field in fields)
    head = f"{'INSERT IGNORE' if ignore else 'INSERT'} INTO {quote(Job._meta.db_table)} ({columns})"
    if not required_queues:
        row = f"({', '.join(['%s'] * len(fields))})"
        return f"{head} VALUES {', '.join([row] * rows)}"
    first = "SELECT " + ", ".join(f"%s AS c{i}" for i in range(len(fields)))
    other = "SELECT " + ", ".join(["%s"] * len(fields))
    union = " UNION ALL ".join([first] + [other] * (rows - 1))
    names = ", ".join(["%s"] * required_queues)
    queues = f"SELECT COUNT(*) FROM {quote(Queue._meta.db_table)} WHERE name IN ({names})"
    return f"{head} SELECT * FROM ({union}) AS v WHERE ({queues}) = {required_queues}"


def insert_jobs(
    connection: BaseDatabaseWrapper,
    jobs: Sequence[Job],
    *,
    ignore_conflicts: bool,
    new_queues: Sequence[str] = (),
) -> set[uuid.UUID]:
    """ONE statement, outside any transaction of its own (the ORM's ``bulk_create`` opens
    one); return the ids inserted. With ``ignore_conflicts`` an ``INSERT IGNORE``, whose row
    count tells whether a key conflict skipped a row (only then are the ids looked up).
    ``new_queues``: nothing is inserted unless each has its ``Queue`` row
    (``capabilities.queue_rows`` is ``"required"``)."""
    if not jobs:
        return set()
    fields = [Job._meta.get_field(name) for name in INSERT_FIELDS]
    params = [
        field.get_db_prep_save(getattr(job, field.attname), connection)
        for job in jobs
        for field in fields
    ]
    params.extend(new_queues)
    sql = _insert_sql(
        connection, len(jobs), ignore=ignore_conflicts, required_queues=len(new_queues)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.rowcount
    ids = [job.id for job in jobs]
    if inserted == len(jobs):
        return set(ids)
    if inserted == 0:  # every key taken, or a Queue row missing
        return set()
    found = Job.objects.using(connection.alias).filter(id__in=ids).values_list("id", flat=True)
    return set(found)  # a row with our id is ours: ids are unique and chosen here


def _in_tree(tree: str) -> Q:
    """Rows whose worker matches the LIKE pattern ``tree`` (``host:pid/%`` or ``%``)."""
    if tree == "%":
        return Q()
    if tree.endswith("%") and "%" not in tree[:-1]:
        return Q(worker__startswith=tree[:-1])
    return Q(worker=tree)


def _running_per(rows: Any, column: str, names: Sequence[str]) -> Counter[str]:
    """Running rows per value of ``column`` among ``names`` (no query when there is none)."""
    if not names:
        return Counter()
    grouped = rows.filter(**{f"{column}__in": list(names)}).values_list(column)
    return Counter(dict(grouped.annotate(n=Count("id"))))


class Budget:
    """What the limits still allow: the paused queues, left per queue (this worker), per
    capped definition (in the cluster and in this worker), and the groups that may not start
    a job."""

    def __init__(self, alias: str, queues: Sequence[str] | None, limits: Limits) -> None:
        running = Job.objects.using(alias).filter(state=State.RUNNING)
        mine = running.filter(_in_tree(limits.tree))
        special = Queue.objects.using(alias).filter(
            Q(paused=True) | Q(max_concurrent__isnull=False)
        )
        if queues is not None:
            special = special.filter(name__in=list(queues))
        rows = list(special.values_list("name", "paused", "max_concurrent"))
        self.paused = {name for name, paused, _ in rows if paused}
        caps = {name: cap for name, _, cap in rows if cap is not None}
        counts = _running_per(mine, "queue", list(caps))
        self.queue_left = {name: cap - counts[name] for name, cap in caps.items()}
        self.cluster_left: dict[str, int] = {}
        self.worker_left: dict[str, int] = {}
        self.busy_groups: set[str] = set()
        if not limits.enforce:
            return
        names = limits.cap_names
        total = _running_per(running, "name", names)
        own = _running_per(mine, "name", names)
        for name, cluster, per_worker in zip(names, limits.cap_running, limits.cap_per_worker):
            if cluster is not None:
                self.cluster_left[name] = cluster - total[name]
            if per_worker is not None:
                self.worker_left[name] = per_worker - own[name]
        self.busy_groups = set(
            running.filter(group_key__isnull=False).values_list("group_key", flat=True)
        )

    def closed_queues(self) -> set[str]:
        return self.paused | {name for name, left in self.queue_left.items() if left <= 0}

    def closed_names(self) -> set[str]:
        left = [*self.cluster_left.items(), *self.worker_left.items()]
        return {name for name, n in left if n <= 0}

    def allows(self, job: Job) -> bool:
        return (
            self.queue_left.get(job.queue, 1) > 0
            and self.cluster_left.get(job.name, 1) > 0
            and self.worker_left.get(job.name, 1) > 0
            and (job.group_key is None or job.group_key not in self.busy_groups)
        )

    def take(self, job: Job) -> None:
        for left, key in (
            (self.queue_left, job.queue),
            (self.cluster_left, job.name),
            (self.worker_left, job.name),
        ):
            if key in left:
                left[key] -= 1
        if job.group_key is not None:
            self.busy_groups.add(job.group_key)


def _served(alias: str, queues: Sequence[str] | None, closed: set[str]) -> list[str]:
    """The queues to walk: the given ones (or every queue with ready jobs), less the paused,
    excluded and full ones (``closed``)."""
    if queues is None:
        ready = Job.objects.using(alias).filter(state=transitions.CLAIM.source)
        queues = list(ready.order_by("queue").values_list("queue", flat=True).distinct())
    return [q for q in dict.fromkeys(queues) if q not in closed]


def _candidates(connection: Any, queue: str, limit: int, budget: Budget) -> list[Job]:
    """Up to ``limit`` ready jobs of ``queue`` in claim order, locked (SKIP LOCKED: MariaDB
    10.6+, MySQL 8.0.1+; before, a locked row is waited for)."""
    ready = Job.objects.using(connection.alias).filter(state=transitions.CLAIM.source, queue=queue)
    closed = budget.closed_names()
    if closed:
        ready = ready.exclude(name__in=sorted(closed))
    if budget.busy_groups:
        ready = ready.exclude(group_key__in=sorted(budget.busy_groups))
    ordered = ready.order_by("-priority", "run_at", "id")
    skip_locked = connection.features.has_select_for_update_skip_locked
    return list(ordered.select_for_update(skip_locked=skip_locked)[:limit])


def _pick(candidates: list[Job], limit: int, budget: Budget) -> list[Job]:
    """Up to ``limit`` of ``candidates`` in claim order, each counted against the limits."""
    picked = []
    for job in in_claim_order(candidates):
        if len(picked) == limit:
            break
        if budget.allows(job):
            budget.take(job)
            picked.append(job)
    return picked


def _claim(alias: str, jobs: list[Job], worker: str, now: datetime) -> list[Job]:
    """The ``claim`` transition of every job in ONE UPDATE, each with its own claim token."""
    tokens = {job.pk: uuid.uuid4() for job in jobs}
    token = Case(
        *(When(pk=pk, then=Value(t)) for pk, t in tokens.items()), output_field=UUIDField()
    )
    fields = {
        "worker": worker,
        "started_at": now,
        "heartbeat_at": now,
        "lease_expires_at": None,
        "cancel_requested_at": None,
    }
    rows = Job.objects.using(alias).filter(pk__in=list(tokens))
    moved = transitions.CLAIM.apply_many(
        rows, claim_token=token, attempts=F("attempts") + 1, **fields
    )
    if moved != len(jobs):  # the rows are locked by this transaction: only if one changed before
        mine = set(rows.filter(claim_token__in=list(tokens.values())).values_list("pk", flat=True))
        jobs = [job for job in jobs if job.pk in mine]
    for job in jobs:
        job.state = transitions.CLAIM.target
        job.claim_token, job.attempts = tokens[job.pk], job.attempts + 1
        for name, value in fields.items():
            setattr(job, name, value)
    return jobs


def claim_jobs(
    connection: Any,
    *,
    queues: Sequence[str] | None,
    limit: int,
    worker: str,
    now: datetime,
    limits: Limits | None = None,
) -> list[Job]:
    """Claim up to ``limit`` ready jobs of ``queues`` (``None``: every queue) for ``worker``."""
    limits = limits or Limits()
    alias = connection.alias
    if limit <= 0:
        return []
    with transaction.atomic(using=alias):
        budget = Budget(alias, queues, limits)
        served = _served(alias, queues, budget.closed_queues() | set(limits.excluded))
        candidates = [
            job for queue in served for job in _candidates(connection, queue, limit, budget)
        ]
        picked = _pick(candidates, limit, budget)
        return _claim(alias, picked, worker, now) if picked else []


class MySQLEngine(OrmEngine):
    """The ORM's completion, staging and rescue; its own insert, claim and claim lock."""

    name = "mysql"
    # A statement writes one table: the INSERT writes only when the Queue rows of new queues
    # exist ("required"), and when they do not, the caller creates them and inserts again.
    capabilities = Capabilities(
        queue_rows="required",
        queue_max_concurrent=True,
        definition_caps=True,
        group_keys=True,
    )

    insert_jobs = staticmethod(insert_jobs)
    claim_jobs = staticmethod(claim_jobs)

    def lock_claims(self, connection: BaseDatabaseWrapper) -> None:
        """Lock the claim lock's row: other limited claims wait for this transaction's end
        (commit, rollback or a lost connection all release it)."""
        lock = f"SELECT id FROM {CLAIM_LOCK_TABLE} WHERE id = 1 FOR UPDATE"
        with connection.cursor() as cursor:
            cursor.execute(lock)
            if cursor.fetchone() is None:  # the row was deleted: put it back, then lock it
                cursor.execute(f"INSERT IGNORE INTO {CLAIM_LOCK_TABLE} (id) VALUES (1)")
                cursor.execute(lock)


ENGINE = MySQLEngine()
