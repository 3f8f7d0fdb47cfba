"""The dashboard: its numbers, its chart, its page and the fragment its script reloads."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from django.test import RequestFactory
from django.urls import reverse

from django_jobs.admin import chart, counts, stats
from django_jobs.admin.dashboard import refresh_seconds
from django_jobs.models import JobAttempt
from tests.browser import support

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


def old_attempt(hours: float) -> JobAttempt:
    """An attempt that succeeded ``hours`` ago (recorded then, so with a smaller id)."""
    job = support.succeeded_job()
    attempt = JobAttempt.objects.get(job=job)
    moment = attempt.finished_at - timedelta(hours=hours)
    JobAttempt.objects.filter(pk=attempt.pk).update(started_at=moment, finished_at=moment)
    return attempt


def test_snapshot__waiting_and_running_jobs_per_queue():
    support.queued_job(), support.scheduled_job(), support.running_job()
    queues = {q.name: (q.scheduled, q.queued, q.running) for q in stats.snapshot().queues}
    assert queues == {"default": (1, 0, 1), "mail": (0, 1, 0)}


def test_snapshot__crowded_state_recounted_per_queue(monkeypatch):
    monkeypatch.setattr(counts, "CAP", 2)
    for _ in range(3):
        support.queued_job()
    support.running_job()
    queues = {q.name: (q.queued, q.running) for q in stats.snapshot().queues}
    assert queues == {"default": (0, 1), "mail": (3, 0)}


def test_snapshot__attempts_of_the_last_hour_per_queue():
    old_attempt(hours=3)
    support.succeeded_job(), support.dead_letter()
    snapshot = stats.snapshot()
    assert (snapshot.succeeded, snapshot.failed) == (1, 3)
    default = next(q for q in snapshot.queues if q.name == "default")
    assert (default.succeeded, default.failed) == (1, 3)


def test_snapshot__buckets_cover_the_hour_in_five_minutes():
    support.succeeded_job()
    buckets = stats.snapshot().buckets
    assert len(buckets) == 12 and buckets[-1].succeeded == 1
    assert all(b.start.minute % 5 == 0 and b.start.second == 0 for b in buckets)


def test_snapshot__oldest_queued_job():
    first = support.queued_job()
    support.queued_job()
    assert stats.snapshot().oldest_queued_at == first.run_at


def test_snapshot__finished_jobs_per_state():
    support.succeeded_job(), support.cancelled_job(), support.cancelled_job()
    finished = stats.snapshot().finished
    assert finished == {"succeeded": 1, "failed": 0, "cancelled": 2}


def test_snapshot__live_workers_with_their_running_jobs():
    alive = support.worker("host:1")
    support.worker("host:1/1", supervisor=alive)
    support.worker("old:2", alive=False)
    support.running_job(worker="host:1/1")
    assert [(w.pk, n) for w, n in stats.snapshot().workers] == [("host:1", 1)]


def test_attempt_id_floor__the_newest_attempt_before_the_window():
    floor = old_attempt(hours=3)
    support.succeeded_job()
    assert stats.attempt_id_floor("default", datetime.now(timezone.utc) - timedelta(hours=1)) == (
        floor.pk
    )


def test_window_start__buckets_end_after_now():
    now = datetime(2026, 1, 1, 12, 7, 30, tzinfo=timezone.utc)
    assert stats.window_start(now) == datetime(2026, 1, 1, 11, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (501, 1000)]
)
def test_nice_ceiling__one_two_five_steps(value, ceiling):
    assert chart.nice_ceiling(value) == ceiling


def test_chart_build__bars_stack_to_scale():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    drawn = chart.build([stats.Bucket(start, 6, 4), stats.Bucket(start, 0, 0)])
    ok, failed = drawn.bars[0], drawn.bars[1]
    plot = chart.HEIGHT - chart.TOP - chart.BOTTOM
    assert (ok.height, failed.height) == (plot * 0.6, plot * 0.4)
    assert failed.y + failed.height == pytest.approx(ok.y)
    assert [label.text for label in drawn.y_labels] == ["0", "5", "10"]


@pytest.mark.parametrize(
    ("value", "text"), [(0, "0"), (950, "950"), (1000, "1k"), (2500, "2.5k"), (1_500_000, "1.5M")]
)
def test_short_number__axis_labels_stay_narrow(value, text):
    assert chart.short_number(value) == text


def test_chart_build__labels_hang_from_the_axes():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    drawn = chart.build([stats.Bucket(start, 5000, 0)])
    assert [label.text for label in drawn.y_labels] == ["0", "2.5k", "5k"]
    assert drawn.x_labels[0].y == drawn.baseline + chart.GAP
    assert all(label.x == chart.LEFT - chart.GAP for label in drawn.y_labels)


@pytest.mark.parametrize(
    ("given", "seconds"), [(None, 5), ("2", 2), ("0", 1), ("x", 5), ("999", 300)]
)
def test_refresh_seconds__bounded(given, seconds):
    request = RequestFactory().get("/", {} if given is None else {"refresh": given})
    assert refresh_seconds(request) == seconds


def test_dashboard__page_with_chart_and_script(admin_client):
    support.succeeded_job()
    page = admin_client.get(reverse("admin:django_jobs_dashboard")).content.decode()
    assert '<svg id="dj-chart"' in page and "django_jobs/dashboard.js" in page
    assert 'data-live-url="/admin/django_jobs/job/dashboard/live/"' in page


def test_dashboard_live__only_the_fragment(admin_client):
    response = admin_client.get(reverse("admin:django_jobs_dashboard_live"))
    assert b'<svg id="dj-chart"' in response.content and b"<html" not in response.content
    assert "no-store" in response["Cache-Control"]


def test_dashboard__cards_say_whether_they_count_attempts_or_jobs(admin_client):
    support.dead_letter()
    page = admin_client.get(reverse("admin:django_jobs_dashboard")).content.decode()
    assert re.findall(r"<h3>(.*?)</h3>", page) == [
        "Succeeded attempts, last hour",
        "Failed attempts, last hour",
        "Oldest queued job",
        "Live workers",
        "Succeeded jobs (now)",
        "Failed jobs (now)",
        "Cancelled jobs (now)",
    ]


def test_dashboard__queue_table_says_it_counts_attempts(admin_client):
    support.dead_letter()
    fragment = admin_client.get(reverse("admin:django_jobs_dashboard_live")).content
    headers = [c.text for c in support.cells(fragment) if c.tag == "th"][:7]
    assert headers == [
        "Queue",
        "Scheduled",
        "Queued",
        "Running",
        "Succeeded attempts (1 h)",
        "Failed attempts (1 h)",
        "Oldest queued",
    ]
