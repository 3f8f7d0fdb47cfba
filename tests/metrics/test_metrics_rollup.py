"""The attempt counters: monotonic totals from the database, each attempt counted once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from django_jobs.metrics import rollup
from django_jobs.models import AttemptCount, AttemptCountWatermark, Job, Outcome
from django_jobs.states import State
from tests.metrics.conftest import attempt, job, samples, scrape

pytestmark = pytest.mark.django_db

ALIAS = "default"


def totals(now=None) -> dict[tuple[str, str, str], int]:
    rows = rollup.totals(ALIAS, now or timezone.now())
    return {(row.queue, row.name, row.outcome): row.total for row in rows}


def finished(queue: str, outcome: str, *, name: str = "tests.metrics.job", ago: float = 5):
    """A job of ``queue`` with one attempt that ended ``ago`` minutes ago with ``outcome``."""
    done = job(queue, State.FAILED, name=name, attempts=1)
    return attempt(done, outcome, finished_at=timezone.now() - timedelta(minutes=ago))


def test_rollup__first_scrape_starts_the_count():
    finished("mail", Outcome.SUCCEEDED)
    assert totals() == {}
    first = Job.objects.get().attempt_history.get()
    assert AttemptCountWatermark.objects.get().attempt_id == first.pk


def test_rollup__counts_settled_attempts_per_queue_definition_and_outcome(scraper):
    scrape(scraper)
    finished("mail", Outcome.SUCCEEDED), finished("mail", Outcome.SUCCEEDED)
    finished("mail", Outcome.FAILED, name="tests.metrics.other")
    finished("default", Outcome.LOST)
    families = scrape(scraper)
    assert samples(families, "django_jobs_attempts_total") == {
        (("definition", "tests.metrics.job"), ("outcome", "succeeded"), ("queue", "mail")): 2,
        (("definition", "tests.metrics.other"), ("outcome", "failed"), ("queue", "mail")): 1,
        (("definition", "tests.metrics.job"), ("outcome", "lost"), ("queue", "default")): 1,
    }
    assert samples(families, "django_jobs_rescued_jobs_total") == {(("queue", "default"),): 1}


def test_rollup__an_attempt_is_counted_once_it_has_settled():
    totals()
    finished("mail", Outcome.SUCCEEDED, ago=0)
    assert totals() == {}
    later = timezone.now() + rollup.LAG + timedelta(seconds=1)
    assert totals(later) == {("mail", "tests.metrics.job", "succeeded"): 1}
    assert totals(later) == {("mail", "tests.metrics.job", "succeeded"): 1}


def test_rollup__totals_survive_pruned_attempts():
    totals()
    finished("mail", Outcome.SUCCEEDED), finished("mail", Outcome.SUCCEEDED)
    assert totals() == {("mail", "tests.metrics.job", "succeeded"): 2}
    Job.objects.all().delete()
    finished("mail", Outcome.SUCCEEDED)
    assert totals() == {("mail", "tests.metrics.job", "succeeded"): 3}


def test_rollup__a_long_backlog_is_counted_over_several_scrapes(monkeypatch):
    totals()
    monkeypatch.setattr(rollup, "BATCH", 2)
    for _ in range(5):
        finished("mail", Outcome.SUCCEEDED)
    seen = [totals()[("mail", "tests.metrics.job", "succeeded")] for _ in range(4)]
    assert seen == [2, 4, 5, 5]


def test_rollup__a_concurrent_scrape_that_moved_the_watermark_wins(monkeypatch):
    totals()
    finished("mail", Outcome.SUCCEEDED)
    counted = rollup.new_attempts

    def racing(alias, after, upper):
        AttemptCountWatermark.objects.update(attempt_id=upper)  # the other scrape committed
        return counted(alias, after, upper)

    monkeypatch.setattr(rollup, "new_attempts", racing)
    assert totals() == {}
    assert not AttemptCount.objects.exists()


def test_rollup__contention_skips_the_rollup_not_the_scrape(monkeypatch, scraper):
    scrape(scraper)
    finished("mail", Outcome.SUCCEEDED)

    def locked(alias, now):
        raise OperationalError("database is locked")

    monkeypatch.setattr(rollup, "roll_up", locked)
    assert samples(scrape(scraper), "django_jobs_attempts_total") == {}
    monkeypatch.undo()
    assert totals() == {("mail", "tests.metrics.job", "succeeded"): 1}
