"""The numbers of the dashboard, each from a query that stays cheap on a big job table.

* Jobs waiting or running, per queue: at most ``CAP + 1`` rows of each of those states, read
  from their partial indexes (``dj_job_due``, ``dj_job_claim``, ``dj_job_running``) and
  grouped by queue; a state with more jobs than that is recounted queue by queue (capped).
* Finished jobs per state: PostgreSQL's statistics (an estimate), or capped counts.
* Throughput and failures over the last hour: the attempts of the last hour. Attempts are
  inserted when they finish, so their ids follow ``finished_at``: the newest attempt that
  finished before the window gives a lower bound on the id, and only the attempts after it
  are read (a primary-key range, however long the table).
* Oldest queued job: ``MIN(run_at)`` over the queued rows (the ``dj_job_claim`` index).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connections
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from django_jobs import states
from django_jobs.admin import counts
from django_jobs.admin.counts import ApproximateCount, capped_count, value_estimates
from django_jobs.conf import jobs_settings
from django_jobs.models import Job, JobAttempt, Outcome, Queue, Worker, WorkerState
from django_jobs.states import State

WINDOW = timedelta(hours=1)
BUCKET = timedelta(minutes=5)
BUCKETS = int(WINDOW / BUCKET)
#: How far out of order attempt ids may be with their ``finished_at`` (commit order).
ID_SKEW = timedelta(minutes=1)
#: Attempt outcomes counted as failures (a cancelled or interrupted attempt is not one).
FAILED_OUTCOMES = (Outcome.FAILED, Outcome.TIMEOUT, Outcome.STALLED, Outcome.LOST)
#: Queues shown at most.
MAX_QUEUES = 100
ACTIVE_STATES = (State.SCHEDULED, State.QUEUED, State.RUNNING)


@dataclass
class QueueStats:
    """One row of the dashboard's table: a queue's waiting, running and recent jobs."""

    name: str
    paused: bool = False
    scheduled: int = 0
    queued: int = 0
    running: int = 0
    succeeded: int = 0  # attempts that succeeded in the last hour
    failed: int = 0  # attempts that failed in the last hour
    oldest_queued_at: datetime | None = None


@dataclass
class Bucket:
    start: datetime
    succeeded: int = 0
    failed: int = 0


@dataclass
class Snapshot:
    """Everything the dashboard shows, as of ``now``."""

    now: datetime
    queues: list[QueueStats] = field(default_factory=list)
    finished: dict[str, ApproximateCount] = field(default_factory=dict)
    buckets: list[Bucket] = field(default_factory=list)
    workers: list[tuple[Worker, int]] = field(default_factory=list)

    @property
    def oldest_queued_at(self) -> datetime | None:
        return min((q.oldest_queued_at for q in self.queues if q.oldest_queued_at), default=None)

    @property
    def succeeded(self) -> int:
        return sum(b.succeeded for b in self.buckets)

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.buckets)


def snapshot(now: datetime | None = None) -> Snapshot:
    """Read every number of the dashboard (a handful of queries, none scanning the table)."""
    now = now or timezone.now()
    alias = jobs_settings.DATABASE
    queues = queue_stats(alias)
    for name, oldest in oldest_queued(alias).items():
        queues.setdefault(name, QueueStats(name)).oldest_queued_at = oldest
    buckets = recent_attempts(alias, now, queues)
    return Snapshot(
        now=now,
        queues=sorted(queues.values(), key=lambda q: q.name),
        finished=finished_counts(alias),
        buckets=buckets,
        workers=live_workers(alias, now),
    )


def queue_stats(alias: str) -> dict[str, QueueStats]:
    """Scheduled, queued and running jobs per queue (capped counts)."""
    rows = Queue.objects.using(alias).order_by("name").values("name", "paused")[:MAX_QUEUES]
    queues = {row["name"]: QueueStats(**row) for row in rows}
    sampled = active_counts(alias)
    for (state, name), count in sampled.items():
        setattr(queues.setdefault(name, QueueStats(name)), state, count)
    totals = Counter[str]()
    for (state, _), count in sampled.items():
        totals[state] += count
    crowded = [state for state in ACTIVE_STATES if totals[state] > counts.CAP]
    if crowded:
        for name, recount in recount_per_queue(alias, crowded).items():
            for state in crowded:
                setattr(queues.setdefault(name, QueueStats(name)), state, recount[state])
    return queues


def active_counts(alias: str) -> dict[tuple[str, str], int]:
    """Jobs per ``(state, queue)`` of the waiting and running states, in one query.

    It reads at most ``CAP + 1`` rows per state, from that state's partial index: exact
    while a state has at most ``CAP`` jobs; beyond, the per-queue split is incomplete and
    :func:`recount_per_queue` recounts that state queue by queue.
    """
    connection = connections[alias]
    table = connection.ops.quote_name(Job._meta.db_table)
    parts = [
        f"SELECT * FROM (SELECT state, queue FROM {table} WHERE state = %s LIMIT %s) s{i}"
        for i in range(len(ACTIVE_STATES))
    ]
    sql = f"SELECT state, queue, COUNT(*) FROM ({' UNION ALL '.join(parts)}) a GROUP BY 1, 2"
    params = [value for state in ACTIVE_STATES for value in (state, counts.CAP + 1)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(state, queue): count for state, queue, count in cursor.fetchall()}


def recount_per_queue(alias: str, states: list[str]) -> dict[str, dict[str, int]]:
    """Capped counts of ``states`` for each queue, one correlated subquery per state."""
    quote = connections[alias].ops.quote_name
    outer = f"{quote(Queue._meta.db_table)}.{quote('name')}"
    annotations = {
        state: counts.capped_subquery_count(
            Job, outer, "c.state = %s AND c.queue = {outer}", (state,), using=alias
        )
        for state in states
    }
    rows = Queue.objects.using(alias).annotate(**annotations).order_by("name")
    return {row["name"]: row for row in rows.values("name", *states)[:MAX_QUEUES]}


def oldest_queued(alias: str) -> dict[str, datetime]:
    """The earliest ``run_at`` of the queued jobs of each queue."""
    rows = (
        Job.objects.using(alias)
        .filter(state=State.QUEUED)
        .values("queue")
        .annotate(oldest=Min("run_at"))
        .order_by()
    )
    return {row["queue"]: row["oldest"] for row in rows}


def finished_counts(alias: str) -> dict[str, ApproximateCount]:
    """Jobs per finished state: estimates on a big PostgreSQL table, capped counts otherwise."""
    estimates = value_estimates(Job, "state", using=alias)
    if estimates is not None:
        return {
            state: ApproximateCount(estimates.get(state, 0), "estimate")
            for state in states.FINISHED_STATES
        }
    jobs = Job.objects.using(alias)
    return {state: capped_count(jobs.filter(state=state)) for state in states.FINISHED_STATES}


def attempt_id_floor(alias: str, since: datetime) -> int:
    """An attempt id below every attempt that finished at or after ``since``.

    ``ORDER BY id DESC LIMIT 1``: a backward walk of the primary key that reads only the
    attempts newer than ``since`` (and ``ID_SKEW``) before it finds an older one.
    """
    older = (
        JobAttempt.objects.using(alias)
        .filter(finished_at__lt=since - ID_SKEW)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return older or 0


def recent_attempts_query(alias: str, since: datetime) -> QuerySet[JobAttempt]:
    """Attempts finished since ``since``: a primary-key range, then a filter on the time."""
    floor = attempt_id_floor(alias, since)
    return JobAttempt.objects.using(alias).filter(pk__gt=floor, finished_at__gte=since)


def window_start(now: datetime) -> datetime:
    """The start of the chart: buckets fall on 5-minute marks, the last one holds ``now``."""
    step = int(BUCKET.total_seconds())
    seconds = int(now.timestamp())
    end = seconds - seconds % step + step
    return datetime.fromtimestamp(end, tz=now.tzinfo) - WINDOW


def recent_attempts(alias: str, now: datetime, queues: dict[str, QueueStats]) -> list[Bucket]:
    """Attempts of the last hour per 5-minute bucket; adds each queue's totals to ``queues``."""
    since = window_start(now)
    buckets = [Bucket(since + i * BUCKET) for i in range(BUCKETS)]
    aggregates: dict[str, Any] = {}
    for i, bucket in enumerate(buckets):
        period = Q(finished_at__gte=bucket.start, finished_at__lt=bucket.start + BUCKET)
        aggregates[f"s{i}"] = Count("pk", filter=period & Q(outcome=Outcome.SUCCEEDED))
        aggregates[f"f{i}"] = Count("pk", filter=period & Q(outcome__in=FAILED_OUTCOMES))
    recent = recent_attempts_query(alias, since).values("job__queue")
    rows = recent.annotate(**aggregates).order_by()
    for row in rows:
        stats = queues.setdefault(row["job__queue"], QueueStats(row["job__queue"]))
        for i, bucket in enumerate(buckets):
            bucket.succeeded += row[f"s{i}"]
            bucket.failed += row[f"f{i}"]
            stats.succeeded += row[f"s{i}"]
            stats.failed += row[f"f{i}"]
    return buckets


def live_workers(alias: str, now: datetime) -> list[tuple[Worker, int]]:
    """Workers (supervisors) heard from lately, each with the number of jobs it runs."""
    since = now - timedelta(seconds=jobs_settings.WORKER_TIMEOUT)
    workers = list(
        Worker.objects.using(alias)
        .filter(
            supervisor__isnull=True,
            state__in=[WorkerState.RUNNING, WorkerState.STOPPING],
            heartbeat_at__gte=since,
        )
        .order_by("hostname", "pid")[:MAX_QUEUES]
    )
    running = Counter(
        (worker or "").rsplit("/", 1)[0]
        for worker in Job.objects.using(alias)
        .filter(state=State.RUNNING)
        .order_by()
        .values_list("worker", flat=True)[:10_000]
    )
    return [(worker, running[worker.pk]) for worker in workers]
