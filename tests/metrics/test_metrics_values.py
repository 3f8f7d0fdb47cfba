"""The numbers of the metrics view match the rows, and user data is escaped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from django_jobs.models import DeadLetter, Outcome, Queue
from django_jobs.states import State
from tests.metrics.conftest import URL, attempt, job, parse, samples, scrape, worker

pytestmark = pytest.mark.django_db


def test_metrics__jobs_by_queue_and_state(scraper):
    job("mail"), job("mail"), job("default", State.SCHEDULED), job("default", State.RUNNING)
    jobs = samples(scrape(scraper), "django_jobs_jobs")
    assert jobs[(("queue", "mail"), ("state", "queued"))] == 2
    assert jobs[(("queue", "mail"), ("state", "running"))] == 0
    assert jobs[(("queue", "default"), ("state", "scheduled"))] == 1
    assert jobs[(("queue", "default"), ("state", "running"))] == 1


def test_metrics__finished_jobs_and_dead_letters(scraper):
    job(state=State.SUCCEEDED), job(state=State.SUCCEEDED), job(state=State.CANCELLED)
    failed = job(state=State.FAILED)
    DeadLetter.objects.create(job=failed, name=failed.name, failed_at=timezone.now())
    families = scrape(scraper)
    assert samples(families, "django_jobs_finished_jobs") == {
        (("state", "succeeded"),): 2,
        (("state", "failed"),): 1,
        (("state", "cancelled"),): 1,
    }
    assert samples(families, "django_jobs_dead_letters") == {(): 1}


def test_metrics__oldest_queued_age_and_paused_queues(scraper):
    Queue.objects.create(name="idle", paused=True)
    job("mail", run_at=timezone.now() - timedelta(minutes=10))
    job("mail", run_at=timezone.now() - timedelta(minutes=1))
    families = scrape(scraper)
    ages = samples(families, "django_jobs_oldest_queued_job_age_seconds")
    assert 600 <= ages[(("queue", "mail"),)] < 660
    assert ages[(("queue", "idle"),)] == 0
    paused = samples(families, "django_jobs_queue_paused")
    assert paused == {(("queue", "idle"),): 1, (("queue", "mail"),): 0}


def test_metrics__live_workers_slots_and_busy_slots(scraper):
    worker("host:1", concurrency=4), worker("host:2", concurrency=2)
    worker("host:3", concurrency=8, alive=False)
    job(state=State.RUNNING, worker="host:1/1"), job(state=State.RUNNING, worker="host:1/2")
    job(state=State.RUNNING, worker="host:3/1")  # its worker is dead: not a busy slot
    families = scrape(scraper)
    assert samples(families, "django_jobs_workers") == {(): 2}
    assert samples(families, "django_jobs_worker_slots") == {(): 6}
    assert samples(families, "django_jobs_worker_busy_slots") == {(): 2}


def test_metrics__run_and_wait_quantiles_of_recent_attempts(scraper):
    now = timezone.now()
    old = job("mail", State.SUCCEEDED, attempts=1)  # ids follow finished_at: older, smaller
    attempt(old, Outcome.SUCCEEDED, finished_at=now - timedelta(minutes=30))  # out of window
    for seconds in (1, 2, 3, 4, 100):
        due = now - timedelta(seconds=seconds + 10)
        done = job("mail", State.SUCCEEDED, attempts=1, run_at=due)
        attempt(done, Outcome.SUCCEEDED, finished_at=now, run=timedelta(seconds=seconds))
    families = scrape(scraper)
    run = samples(families, "django_jobs_recent_run_seconds")
    assert run[(("quantile", "0.5"), ("queue", "mail"))] == pytest.approx(3, abs=1e-3)
    assert run[(("quantile", "0.99"), ("queue", "mail"))] == pytest.approx(100, abs=1e-3)
    wait = samples(families, "django_jobs_recent_wait_seconds")
    assert wait[(("quantile", "0.5"), ("queue", "mail"))] == pytest.approx(10, abs=0.01)
    sampled = samples(families, "django_jobs_recent_attempts_sampled")
    assert sampled == {(("queue", "mail"),): 5}


def test_metrics__label_values_from_user_data_are_escaped(scraper):
    queue = 'we"ird\\queue'
    definition = "line\nbreak"  # refused by the name rules, but rows can hold anything
    job(queue, name=definition)
    text = scraper.get(URL).content.decode()
    assert 'queue="we\\"ird\\\\queue"' in text
    assert all(line.startswith(("#", "django_jobs_")) for line in text.splitlines() if line)
    jobs = samples(parse(text), "django_jobs_jobs")
    assert jobs[(("queue", queue), ("state", "queued"))] == 1


def test_metrics__openmetrics_when_the_scraper_asks_for_it(scraper):
    response = scraper.get(URL, HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.endswith(b"# EOF\n")


def test_metrics__queries_do_not_grow_with_rows(scraper, django_assert_max_num_queries):
    def fill(first: int, last: int) -> None:
        finished = timezone.now() - timedelta(minutes=2)  # counted, and in the duration window
        for i in range(first, last):
            for state in (State.QUEUED, State.RUNNING, State.SUCCEEDED):
                done = job(f"q{i}", state, name=f"def{i}", attempts=1, worker=f"w{i}/1")
                attempt(done, Outcome.FAILED, finished_at=finished)
            worker(f"w{i}")

    fill(0, 2)
    scrape(scraper)  # the first scrape sets the watermark
    fill(2, 40)
    with django_assert_max_num_queries(25):
        families = scrape(scraper)
    assert sum(samples(families, "django_jobs_attempts_total").values()) == 38 * 3
