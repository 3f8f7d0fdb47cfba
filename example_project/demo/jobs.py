"""The demo's job definitions: one of each kind django_jobs offers.

django_jobs imports this module at start-up (as the admin imports ``admin.py``), so every
definition below is registered under ``demo.jobs.<function or class name>``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from demo.models import Report
from django_jobs import Backoff, Cron, RecurringJob, job
from django_jobs.context import heartbeat

logger = logging.getLogger(__name__)


@job
def send_welcome_email(to: str, name: str = "there") -> dict:
    """A plain sync job: "send" a welcome email (it is only logged) and return a summary."""
    logger.info("welcome email to %s: Hello %s, thanks for signing up!", to, name)
    return {"to": to, "sent": True}


@job(
    queue="reports",
    priority=10,
    max_retries=5,
    backoff=Backoff.EXPONENTIAL_JITTER,
    retry_delay=30,
    timeout=120,
    dead_letter=True,
)
async def generate_report(title: str, rows: int = 100) -> dict:
    """An async job with options: build a report and store it with the async ORM.

    It runs on the "reports" queue before lower-priority jobs, gets 120 s per attempt, retries
    up to 5 times with jittered exponential backoff from 30 s, then becomes a dead letter.
    """
    await asyncio.sleep(0.01)  # stands in for awaiting a slow API or query
    report = await Report.objects.acreate(title=title, rows=rows)
    return {"report_id": report.pk, "rows": rows}


@job(max_retries=3, retry_delay=None, retry_on=(ConnectionError,), dead_letter=True)
def sync_inventory(sku: str, failure_rate: float = 0.3) -> dict:
    """A flaky job: ``ConnectionError`` is retried, any other exception fails at once.

    ``retry_delay=None`` retries at once, so the demo's in-process run shows the retries without
    waiting. After 4 failed attempts the job fails for good and is kept as a dead letter.
    """
    if random.random() < failure_rate:
        raise ConnectionError(f"inventory service unreachable while syncing {sku}")
    return {"sku": sku, "stock": random.randint(0, 50)}


@job(heartbeat_timeout=timedelta(minutes=1))
def import_contacts(batches: int = 5) -> int:
    """A long job that reports its progress with ``heartbeat()`` after each batch.

    With ``heartbeat_timeout`` set, a job silent for more than a minute counts as stalled.
    """
    for done in range(1, batches + 1):
        time.sleep(0.05)  # stands in for importing one batch
        heartbeat(progress=done / batches, meta={"batch": done})
    return batches * 100


@job(atomic=True, max_retries=1, retry_delay=None)
def summarise_reports() -> int:
    """``atomic=True``: the summary row and the job's completion commit in one transaction.

    If the job fails half-way, the summary row is rolled back with it, and the retry starts clean.
    """
    total = Report.objects.exclude(title="Summary").aggregate(total=Sum("rows"))["total"] or 0
    return Report.objects.create(title="Summary", rows=total).pk


@job(cron=Cron("0 18 * * 1-5", timezone="Europe/Paris", misfire="once"))
def daily_digest() -> dict:
    """Cron: weekdays at 18:00 Paris time; after downtime, the missed runs collapse into one."""
    since = timezone.now() - timedelta(days=1)
    count = Report.objects.filter(created_at__gte=since).count()
    logger.info("daily digest: %d reports in the last 24 hours", count)
    return {"reports": count}


@job(interval=timedelta(minutes=5))
def refresh_exchange_rates() -> dict:
    """Interval: every five minutes, "fetch" exchange rates (made up here)."""
    return {"EUR/USD": round(random.uniform(1.0, 1.2), 4)}


class PurgeOldReports(RecurringJob):
    """A class-based recurring job: every hour, delete reports older than 30 days.

    After 3 consecutive failures its schedule is skipped until re-enabled; a run taking more
    than 30 s is stopped and counts as a failure.
    """

    interval = 3600
    max_retries = 3
    timeout = 30

    def run(self) -> int:
        """Delete the old reports; return how many went."""
        cutoff = timezone.now() - timedelta(days=30)
        deleted, _ = Report.objects.filter(created_at__lt=cutoff).delete()
        return deleted
