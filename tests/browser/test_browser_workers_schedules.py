"""Workers and schedules in a real browser."""

from __future__ import annotations

import pytest
from django.utils import timezone

from django_jobs.models import Job, Schedule, Worker
from django_jobs.worker.recurring import sync_schedules
from tests.browser import support
from tests.browser.pages import messages, run_action, screenshot, submit

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = "/admin/django_jobs/worker/"
SCHEDULES = "/admin/django_jobs/schedule/"
DIGEST = "tests.testapp.jobs.daily_digest"


@pytest.fixture
def schedules() -> dict[str, Schedule]:
    return {s.name: s for s in sync_schedules()}


def test_browser_workers__alive_dead_current_jobs_heartbeat(admin_page):
    supervisor = support.worker("web-1:4242")
    support.worker("web-1:4242/1", supervisor=supervisor)
    support.worker("web-2:17", alive=False)
    support.running_job(worker="web-1:4242/1")
    admin_page.goto(WORKERS)
    screenshot(admin_page, "workers")
    alive = admin_page.locator("#result_list tbody tr", has_text="web-1:4242/1")
    assert alive.locator(".dj-alive").count() == 1
    assert alive.locator("td.field-current_jobs").inner_text() == "1"
    assert "ago" in alive.locator("td.field-heartbeat").inner_text()
    dead = admin_page.locator("#result_list tbody tr", has_text="web-2:17")
    assert dead.locator(".dj-dead").count() == 1


def test_browser_worker_detail__lists_current_jobs(admin_page):
    supervisor = support.worker("web-1:4242")
    job = support.running_job(worker="web-1:4242/1")
    admin_page.goto(WORKERS)
    # Its id may wrap after a separator (<wbr>): found by the link's name, not its text nodes.
    link = admin_page.locator("#result_list").get_by_role("link", name=supervisor.pk, exact=True)
    with admin_page.expect_navigation():
        link.click()
    assert str(job.pk) in admin_page.inner_text(".field-current_job_list")


def test_browser_worker_delete__dead_ones_only(admin_page):
    alive, dead = support.worker("web-1:4242"), support.worker("web-2:17", alive=False)
    admin_page.goto(WORKERS)
    run_action(admin_page, "Delete selected dead or stopped workers", [alive.pk, dead.pk])
    assert messages(admin_page) == ["Delete: 0 changed, 1 skipped (1 alive: stop it first)."]
    submit(admin_page, "input[type=submit]")
    assert messages(admin_page) == ["Delete: 1 changed, 0 skipped."]
    assert list(Worker.objects.values_list("pk", flat=True)) == [alive.pk]


def test_browser_schedule_disable_then_enable(admin_page, schedules):
    digest = schedules[DIGEST]
    admin_page.goto(SCHEDULES)
    screenshot(admin_page, "schedules")
    run_action(admin_page, "Disable selected schedules", [digest.pk])
    assert messages(admin_page) == ["Disable: 1 changed, 0 skipped."]
    run_action(admin_page, "Enable selected schedules", [digest.pk])
    assert messages(admin_page) == ["Enable: 1 changed, 0 skipped."]
    assert Schedule.objects.get(pk=digest.pk).enabled


def test_browser_schedule_reenable__a_skipped_one(admin_page, schedules):
    purge = schedules["tests.testapp.jobs.PurgeSessions"]
    Schedule.objects.filter(pk=purge.pk).update(skipped_at=timezone.now(), consecutive_failures=3)
    admin_page.goto(SCHEDULES)
    assert admin_page.locator(".dj-skipped").count() == 1
    run_action(admin_page, "Re-enable selected skipped schedules (reset failures)", [purge.pk])
    assert messages(admin_page) == ["Re-enable: 1 changed, 0 skipped."]
    assert Schedule.objects.get(pk=purge.pk).skipped_at is None


def test_browser_schedule_run_now__enqueues(admin_page, schedules):
    admin_page.goto(SCHEDULES)
    run_action(admin_page, "Run selected schedules now", [schedules[DIGEST].pk])
    assert messages(admin_page) == ["Run now: 1 changed, 0 skipped."]
    assert Job.objects.filter(name=DIGEST).count() == 1


def test_browser_schedule_detail__next_runs(admin_page, schedules):
    admin_page.goto(f"{SCHEDULES}{schedules[DIGEST].pk}/change/")
    assert admin_page.locator("ol.dj-next-runs li").count() == 5


def test_browser_schedule_list__last_outcome_and_not_durable(admin_page, schedules):
    Schedule.objects.filter(name=DIGEST).update(
        last_outcome="failed", consecutive_failures=2, durable=False
    )
    admin_page.goto(SCHEDULES)
    digest = admin_page.locator("#result_list tbody tr", has_text="daily_digest")
    assert digest.locator("td.field-last_run .dj-failed").inner_text() == "failed"
    assert digest.locator("td.field-consecutive_failures").inner_text() == "2"
    assert digest.locator("td.field-status_badge .dj-not-durable").inner_text() == "not durable"
    purge = admin_page.locator("#result_list tbody tr", has_text="PurgeSessions")
    assert purge.locator(".dj-not-durable").count() == 0


def test_browser_schedule_detail__durable_no(admin_page, schedules):
    Schedule.objects.filter(name=DIGEST).update(durable=False, last_duration_seconds=0.25)
    admin_page.goto(f"{SCHEDULES}{schedules[DIGEST].pk}/change/")
    assert admin_page.locator(".fieldBox.field-durable_display .readonly").inner_text() == "no"
    assert admin_page.locator(".fieldBox.field-last_duration .readonly").inner_text() == "250 ms"
