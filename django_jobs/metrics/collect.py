"""Every number of the metrics view, read in a bounded number of cheap queries.

The counting is the dashboard's (``django_jobs.admin.stats`` and ``admin.counts``), so the
view stays as cheap as the dashboard on a table of millions of jobs:

* active jobs (scheduled, queued, running) per queue: capped counts from the partial
  indexes, exact up to ``counts.CAP`` per queue and state, ``CAP + 1`` beyond;
* finished jobs per state: PostgreSQL's statistics on a big table (an estimate), capped
  counts otherwise;
* oldest queued job per queue: ``MIN(run_at)`` over the ``dj_job_claim`` partial index;
* live workers and the jobs they run: the Worker rows heard from lately;
* dead letters: a capped count, then PostgreSQL's estimate;
* attempt totals: ``rollup`` (monotonic, from the database);
* run and wait durations: the newest ``SAMPLE`` attempts that finished in the last
  ``DURATION_WINDOW``, a primary-key range like the dashboard's chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Case, F, FloatField, Func, Q, When
from django.utils import timezone

from django_jobs import states
from django_jobs.admin import stats
from django_jobs.admin.counts import ApproximateCount, count_rows
from django_jobs.conf import jobs_settings
from django_jobs.metrics import rollup
from django_jobs.models import AttemptCount, DeadLetter, Worker

#: The window of the duration quantiles, and the attempts they are computed from at most.
DURATION_WINDOW = timedelta(minutes=5)
SAMPLE = 1_000


@dataclass
class Durations:
    """Seconds of the sampled attempts of one queue: running, and waiting to start."""

    run: list[float] = field(default_factory=list)
    wait: list[float] = field(default_factory=list)


@dataclass
class Reading:
    """Everything the metrics view shows, as of ``now``."""

    now: datetime
    queues: dict[str, stats.QueueStats]
    finished: dict[str, ApproximateCount]
    workers: list[tuple[Worker, int]]
    dead_letters: ApproximateCount
    attempts: list[AttemptCount]
    durations: dict[str, Durations]


def read(now: datetime | None = None) -> Reading:
    """Read every number (about fifteen queries, none scanning a whole table)."""
    now = now or timezone.now()
    alias = jobs_settings.DATABASE
    queues = stats.queue_stats(alias)
    for name, oldest in stats.oldest_queued(alias).items():
        queues.setdefault(name, stats.QueueStats(name)).oldest_queued_at = oldest
    return Reading(
        now=now,
        queues=queues,
        finished=stats.finished_counts(alias),
        workers=stats.live_workers(alias, now),
        dead_letters=count_rows(DeadLetter.objects.using(alias), filtered=False),
        attempts=rollup.totals(alias, now),
        durations=recent_durations(alias, now),
    )


def recent_durations(alias: str, now: datetime) -> dict[str, Durations]:
    """Run and wait seconds per queue of the newest attempts of the last ``DURATION_WINDOW``.

    Run: ``finished_at - started_at`` of each attempt. Wait: ``started_at - run_at`` of a
    job's last attempt once the job has finished (``run_at`` is the time that attempt became
    due; earlier attempts' due times are not kept).
    """
    last = Q(number=F("job__attempts"), job__state__in=states.FINISHED_STATES)
    rows = (
        stats.recent_attempts_query(alias, now - DURATION_WINDOW)
        .order_by("-pk")
        .annotate(
            run=Seconds("started_at", "finished_at"),
            wait=Case(When(last, then=Seconds("job__run_at", "started_at")), default=None),
        )
        .values_list("job__queue", "run", "wait")[:SAMPLE]
    )
    durations: dict[str, Durations] = {}
    for queue, run, wait in rows:
        sample = durations.setdefault(queue, Durations())
        sample.run.append(max(float(run), 0.0))
        if wait is not None:
            sample.wait.append(max(float(wait), 0.0))
    return durations


class Seconds(Func):
    """``end - start`` in seconds, as a float computed by the database.

    Thousands of durations are read per scrape: a float each is far cheaper to fetch than
    the timestamps (PostgreSQL's aware datetimes are converted in Python, one by one).
    SQLite's ``julianday`` is precise to a few tens of microseconds.
    """

    output_field = FloatField()

    def __init__(self, start: str, end: str) -> None:
        super().__init__(F(end), F(start))

    def as_sql(self, compiler, connection, **extra):
        # MySQL and MariaDB: TIMESTAMPDIFF(unit, start, end) is end - start.
        template = "TIMESTAMPDIFF(MICROSECOND, %(expressions)s) / 1000000.0"
        start_first = self.copy()
        start_first.set_source_expressions(self.get_source_expressions()[::-1])
        return Func.as_sql(start_first, compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = "EXTRACT(EPOCH FROM (%(expressions)s))::float8"
        return super().as_sql(compiler, connection, template=template, arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = "(julianday(%(expressions)s)) * 86400.0"
        joiner = ") - julianday("
        return super().as_sql(compiler, connection, template=template, arg_joiner=joiner, **extra)


def quantiles(values: list[float], qs: tuple[float, ...]) -> list[float]:
    """The nearest-rank quantiles ``qs`` of ``values`` (not empty): pure."""
    ordered = sorted(values)
    return [ordered[max(1, math.ceil(len(ordered) * q)) - 1] for q in qs]
