"""Counting without counting millions: capped counts, estimates, clamped pages."""

from __future__ import annotations

import pytest
from django.db import connection

from django_jobs.admin import counts
from django_jobs.admin.base import CountingPaginator
from django_jobs.admin.counts import ApproximateCount, capped_count, count_rows, value_estimates
from django_jobs.models import Job
from tests.browser import support

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_cap(monkeypatch) -> int:
    monkeypatch.setattr(counts, "CAP", 3)
    return 3


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Job._meta.db_table}")


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (ApproximateCount(12), "12"),
        (ApproximateCount(1234567, "estimate"), "about 1,234,567"),
        (ApproximateCount(10001, "more"), "more than 10,000"),
    ],
)
def test_approximate_count__text(count, text):
    assert str(count) == text


def test_capped_count__exact_up_to_the_cap(small_cap):
    support.queued_job(), support.queued_job()
    assert (capped_count(Job.objects.all()), capped_count(Job.objects.all()).kind) == (2, "exact")


def test_capped_count__more_beyond_the_cap(small_cap):
    for _ in range(5):
        support.queued_job()
    count = capped_count(Job.objects.all())
    assert (int(count), count.kind, str(count)) == (4, "more", "more than 3")


def test_count_rows__filtered_list_beyond_the_cap_says_more(small_cap):
    for _ in range(5):
        support.queued_job()
    assert count_rows(Job.objects.filter(queue="mail"), filtered=True).kind == "more"


def test_count_rows__unfiltered_beyond_the_cap_elsewhere_says_more(small_cap):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL estimates instead")
    for _ in range(5):
        support.queued_job()
    assert count_rows(Job.objects.all(), filtered=False).kind == "more"


@pytest.mark.postgres_only
def test_count_rows__unfiltered_beyond_the_cap_is_postgres_estimate(small_cap):
    for _ in range(20):
        support.queued_job()
    analyze()
    count = count_rows(Job.objects.all(), filtered=False)
    assert count.kind == "estimate" and 10 <= count <= 40


@pytest.mark.postgres_only
def test_value_estimates__rows_per_state_from_statistics(small_cap):
    for _ in range(8):
        support.queued_job()
    for _ in range(4):
        support.cancelled_job()
    analyze()
    assert value_estimates(Job, "state", using="default") == {"queued": 8, "cancelled": 4}


def test_value_estimates__none_for_a_small_table():
    support.queued_job()
    assert value_estimates(Job, "state", using="default") is None


@pytest.mark.parametrize(("asked", "shown"), [("0", 1), ("-4", 1), ("x", 1), (10**30, 3), (2, 2)])
def test_paginator__page_numbers_clamped(asked, shown):
    for _ in range(5):
        support.queued_job()
    paginator = CountingPaginator(Job.objects.order_by("pk"), 2)
    assert paginator.validate_number(asked) == shown
    assert paginator.page(asked).number == shown
