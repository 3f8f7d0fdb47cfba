"""The numbers of a ``collect.Reading`` as Prometheus metric families (``prometheus_client``).

A collector is built for one reading and registered in a registry made for one request: no
process-wide state, so every scrape reflects the database and nothing else.
The format follows the scraper's ``Accept`` header (``prometheus_client.exposition.
choose_encoder``): the text format 0.0.4 by default, OpenMetrics or text 1.0.0 when asked.
Either escapes label values (``\\``, ``"`` and line feeds) and help texts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from django_jobs.metrics.collect import Reading, quantiles
from django_jobs.models import Outcome
from django_jobs.states import ACTIVE_STATES

PREFIX = "django_jobs_"
QUANTILES = (0.5, 0.95, 0.99)


def render(reading: Reading, accept: str = "") -> tuple[bytes, str]:
    """The exposition of ``reading`` in the format ``accept`` asks for, and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobsCollector(reading))
    encode, content_type = choose_encoder(accept)
    return encode(registry), content_type


class JobsCollector:
    """A custom collector: every family of ``docs/reference/metrics.md``, from one reading."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading

    def collect(self) -> Iterator[Metric]:
        yield from self.jobs()
        yield from self.queues()
        yield from self.workers()
        yield from self.attempts()
        yield from self.durations()

    def jobs(self) -> Iterator[Metric]:
        reading = self.reading
        active = GaugeMetricFamily(
            PREFIX + "jobs",
            "Jobs waiting or running, per queue and state (exact up to 10000, then 10001).",
            labels=["queue", "state"],
        )
        for name, queue in sorted(reading.queues.items()):
            for state in ACTIVE_STATES:
                active.add_metric([name, state], getattr(queue, state))
        yield active
        finished = GaugeMetricFamily(
            PREFIX + "finished_jobs",
            "Finished jobs kept, per state (an estimate on a big PostgreSQL table).",
            labels=["state"],
        )
        for finished_state, count in reading.finished.items():
            finished.add_metric([finished_state], int(count))
        yield finished
        yield GaugeMetricFamily(
            PREFIX + "dead_letters",
            "Dead letters kept (an estimate above 10000 on PostgreSQL).",
            value=int(reading.dead_letters),
        )

    def queues(self) -> Iterator[Metric]:
        reading = self.reading
        oldest = GaugeMetricFamily(
            PREFIX + "oldest_queued_job_age_seconds",
            "Seconds the oldest queued job of each queue has been due (0: none queued).",
            labels=["queue"],
        )
        paused = GaugeMetricFamily(
            PREFIX + "queue_paused", "1 while the queue is paused.", labels=["queue"]
        )
        for name, queue in sorted(reading.queues.items()):
            due = queue.oldest_queued_at
            age = 0.0 if due is None else max((reading.now - due).total_seconds(), 0.0)
            oldest.add_metric([name], age)
            paused.add_metric([name], 1 if queue.paused else 0)
        yield oldest
        yield paused

    def workers(self) -> Iterator[Metric]:
        live = self.reading.workers
        yield GaugeMetricFamily(
            PREFIX + "workers", "runjobs workers heard from lately.", value=len(live)
        )
        yield GaugeMetricFamily(
            PREFIX + "worker_slots",
            "Worker processes the live workers run (their --concurrency, summed).",
            value=sum(worker.concurrency for worker, _ in live),
        )
        yield GaugeMetricFamily(
            PREFIX + "worker_busy_slots",
            "Jobs the live workers are running.",
            value=sum(running for _, running in live),
        )

    def attempts(self) -> Iterator[Metric]:
        attempts = CounterMetricFamily(
            PREFIX + "attempts",
            "Attempts finished, per queue, definition and outcome, since the first scrape.",
            labels=["queue", "definition", "outcome"],
        )
        rescued: defaultdict[str, int] = defaultdict(int)
        for row in self.reading.attempts:
            attempts.add_metric([row.queue, row.name, row.outcome], row.total)
            if row.outcome == Outcome.LOST:
                rescued[row.queue] += row.total
        yield attempts
        lost = CounterMetricFamily(
            PREFIX + "rescued_jobs",
            "Attempts lost with a worker that stopped responding (its job rescued), per queue.",
            labels=["queue"],
        )
        for queue, total in sorted(rescued.items()):
            lost.add_metric([queue], total)
        yield lost

    def durations(self) -> Iterator[Metric]:
        families = {
            kind: GaugeMetricFamily(
                f"{PREFIX}recent_{kind}_seconds",
                f"Quantiles of the {what} of the newest attempts of the last 5 minutes.",
                labels=["queue", "quantile"],
            )
            for kind, what in (("run", "run time"), ("wait", "wait from due to start"))
        }
        sampled = GaugeMetricFamily(
            PREFIX + "recent_attempts_sampled",
            "Attempts the duration quantiles of each queue are computed from.",
            labels=["queue"],
        )
        for queue, sample in sorted(self.reading.durations.items()):
            sampled.add_metric([queue], len(sample.run))
            for kind, values in (("run", sample.run), ("wait", sample.wait)):
                if values:
                    for q, value in zip(QUANTILES, quantiles(values, QUANTILES)):
                        families[kind].add_metric([queue, str(q)], value)
        yield from families.values()
        yield sampled
