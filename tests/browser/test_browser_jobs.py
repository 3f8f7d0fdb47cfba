"""The Job pages in a real browser: log in, filter, search, detail, every action."""

from __future__ import annotations

import pytest

from django_jobs.models import Job
from django_jobs.states import State
from tests.browser import support
from tests.browser.pages import login, messages, run_action, screenshot, submit

pytestmark = pytest.mark.django_db(transaction=True)

JOBS = "/admin/django_jobs/job/"


def test_browser_login__through_the_form_to_the_index(page, superuser):
    login(page, superuser.username)
    assert page.locator("#django-jobs-dashboard-link").is_visible()
    screenshot(page, "admin-index")


def test_browser_job_list__filter_by_state(admin_page):
    done, queued = support.succeeded_job(), support.queued_job()
    running = support.running_job()
    Job.objects.filter(pk=running.pk).update(progress=0.4)
    support.dead_letter()
    admin_page.goto(JOBS)
    screenshot(admin_page, "jobs")
    submit(admin_page, "#changelist-filter a[href*='state__exact=queued']")
    rows = admin_page.locator("#result_list tbody tr")
    assert rows.count() == 1 and rows.first.locator(f'[title="{queued.pk}"]').count() == 1
    assert str(done.pk) not in admin_page.content()


def test_browser_job_list__search_by_definition(admin_page):
    support.succeeded_job(), support.queued_job()
    admin_page.goto(JOBS)
    admin_page.fill("#searchbar", "send_email")
    with admin_page.expect_navigation():
        admin_page.press("#searchbar", "Enter")
    assert admin_page.locator("#result_list tbody tr").count() == 1


def test_browser_job_detail__arguments_escaped_and_attempts(admin_page):
    letter = support.dead_letter("<script>window.hacked = 1</script>")
    admin_page.goto(f"{JOBS}{letter.job_id}/change/")
    assert "<script>window.hacked = 1</script>" in admin_page.inner_text(".field-arguments")
    assert admin_page.evaluate("window.hacked") is None
    assert admin_page.locator("table.dj-attempts tbody tr").count() == 3
    screenshot(admin_page, "job-detail")


def test_browser_job_cancel__message_and_state(admin_page):
    queued, done = support.queued_job(), support.succeeded_job()
    admin_page.goto(JOBS)
    run_action(admin_page, "Cancel selected jobs", [queued.pk, done.pk])
    assert messages(admin_page) == ["Cancel: 1 changed, 1 skipped (1 already succeeded)."]
    assert Job.objects.get(pk=queued.pk).state == State.CANCELLED


def test_browser_job_resubmit__message_and_new_job(admin_page):
    done = support.succeeded_job()
    admin_page.goto(JOBS)
    run_action(admin_page, "Retry now / resubmit selected finished jobs", [done.pk])
    assert messages(admin_page) == ["Resubmit: 1 changed, 0 skipped."]
    assert Job.objects.filter(resubmitted_from=done.pk, state=State.QUEUED).exists()


def test_browser_job_run_now__scheduled_becomes_queued(admin_page):
    scheduled = support.scheduled_job()
    admin_page.goto(JOBS)
    run_action(admin_page, "Run selected scheduled jobs now", [scheduled.pk])
    assert messages(admin_page) == ["Run now: 1 changed, 0 skipped."]
    assert Job.objects.get(pk=scheduled.pk).state == State.QUEUED


def test_browser_job_delete__confirm_then_deleted(admin_page):
    done, queued = support.succeeded_job(), support.queued_job()
    admin_page.goto(JOBS)
    run_action(admin_page, "Delete selected finished jobs", [done.pk, queued.pk])
    assert messages(admin_page) == ["Delete: 0 changed, 1 skipped (1 queued: cancel it first)."]
    submit(admin_page, "input[type=submit]")
    assert messages(admin_page) == ["Delete: 1 changed, 0 skipped."]
    assert list(Job.objects.values_list("pk", flat=True)) == [queued.pk]
