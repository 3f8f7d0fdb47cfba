"""The dashboard in a real browser: linked from the index, draws its chart, refreshes itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from django_jobs.models import JobAttempt, Outcome
from tests.browser import support
from tests.browser.pages import screenshot, submit

pytestmark = pytest.mark.django_db(transaction=True)


#: Attempts per 5-minute bucket, oldest first: (succeeded, failed).
HISTORY = [(3, 0), (5, 1), (2, 0), (6, 0), (4, 2), (7, 0), (3, 0), (5, 1), (8, 0), (4, 0), (6, 1)]


@pytest.fixture
def activity() -> tuple[int, int]:
    """Jobs in every state and an hour of attempts; returns (succeeded, failed) attempts."""
    job = support.succeeded_job()
    support.dead_letter(), support.queued_job(), support.scheduled_job()
    supervisor = support.worker("web-1:4242")
    support.worker("web-1:4242/1", supervisor=supervisor)
    support.running_job(worker="web-1:4242/1")
    now, number, history = timezone.now(), 1, []
    for age, (succeeded, failed) in enumerate(reversed(HISTORY), start=1):
        moment = now - timedelta(minutes=5 * age)
        for outcome in [Outcome.SUCCEEDED] * succeeded + [Outcome.FAILED] * failed:
            number += 1
            history.append(
                JobAttempt(
                    job=job, number=number, outcome=outcome, started_at=moment, finished_at=moment
                )
            )
    JobAttempt.objects.bulk_create(history)
    return 1 + sum(s for s, _ in HISTORY), 3 + sum(f for _, f in HISTORY)


def test_browser_dashboard__linked_from_the_index(admin_page):
    admin_page.goto("/admin/")
    submit(admin_page, "#django-jobs-dashboard-link th a")
    assert admin_page.locator("#dj-dashboard").is_visible()


def test_browser_dashboard__draws_its_chart(admin_page, activity):
    admin_page.goto("/admin/django_jobs/job/dashboard/")
    bars = admin_page.locator("#dj-chart rect.dj-bar")
    assert bars.count() == 24
    heights = [
        float(h) for h in bars.evaluate_all("bars => bars.map(b => b.getAttribute('height'))")
    ]
    assert sum(h > 0 for h in heights) >= len(HISTORY)
    box = admin_page.locator("#dj-chart").bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    succeeded, failed = activity
    assert admin_page.inner_text("#dj-succeeded") == str(succeeded)
    assert admin_page.inner_text("#dj-failed") == str(failed)
    screenshot(admin_page, "dashboard")


def test_browser_dashboard__refreshes_itself(admin_page, activity):
    succeeded, _ = activity
    admin_page.goto("/admin/django_jobs/job/dashboard/?refresh=1")
    assert admin_page.inner_text("#dj-succeeded") == str(succeeded)
    support.succeeded_job()
    admin_page.wait_for_function(
        f"document.querySelector('#dj-succeeded').textContent.trim() === '{succeeded + 1}'",
        timeout=10_000,
    )
    assert int(admin_page.get_attribute("#dj-dashboard", "data-refreshes")) >= 1
