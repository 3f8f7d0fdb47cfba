"""Dead letters in a real browser: browse, history, resubmit, bulk resubmit, delete, purge."""

from __future__ import annotations

import pytest

from django_jobs.models import DeadLetter, Job
from tests.browser import support
from tests.browser.pages import messages, run_action, screenshot, submit

pytestmark = pytest.mark.django_db(transaction=True)

LETTERS = "/admin/django_jobs/deadletter/"


def test_browser_dead_letters__filter_by_definition_and_history(admin_page):
    letter = support.dead_letter("<b>not bold</b>")
    admin_page.goto(LETTERS)
    screenshot(admin_page, "dead-letters")
    submit(admin_page, f"#changelist-filter a[href*='definition={letter.name}']")
    assert admin_page.locator("#result_list tbody tr").count() == 1
    submit(admin_page, "#result_list tbody tr a")
    assert admin_page.locator("table.dj-attempts tbody tr").count() == 3
    assert "<b>not bold</b>" in admin_page.inner_text(".field-arguments")


def test_browser_dead_letter_resubmit__reset_retry_count(admin_page):
    letter = support.dead_letter()
    admin_page.goto(LETTERS)
    run_action(admin_page, "Resubmit selected dead letters (reset retry count)", [letter.pk])
    assert messages(admin_page) == ["Resubmit: 1 changed, 0 skipped."]
    assert Job.objects.get(resubmitted_from=letter.job_id).max_attempts == 3


def test_browser_dead_letter_resubmit__keep_retry_count(admin_page):
    letter = support.dead_letter()
    admin_page.goto(LETTERS)
    run_action(admin_page, "Resubmit selected dead letters (keep retry count)", [letter.pk])
    assert messages(admin_page) == ["Resubmit: 1 changed, 0 skipped."]
    assert Job.objects.get(resubmitted_from=letter.job_id).max_attempts == 1


def test_browser_dead_letter_bulk_resubmit__by_definition_with_a_limit(admin_page):
    for i in range(3):
        support.dead_letter(str(i))
    admin_page.goto(LETTERS)
    submit(admin_page, "#dj-bulk-resubmit")
    admin_page.fill("#id_limit", "2")
    admin_page.uncheck("#id_reset_retry_count")
    screenshot(admin_page, "bulk-resubmit")
    submit(admin_page, "#dj-bulk-resubmit-form input[type=submit]")
    assert messages(admin_page) == ["Bulk resubmit: 2 changed, 0 skipped."]
    assert DeadLetter.objects.filter(resubmitted_at__isnull=True).count() == 1


def test_browser_dead_letter_delete__keeps_the_job(admin_page):
    letter = support.dead_letter()
    admin_page.goto(LETTERS)
    run_action(admin_page, "Delete selected dead letters (keep the jobs)", [letter.pk])
    submit(admin_page, "input[type=submit]")
    assert messages(admin_page) == ["Delete: 1 changed, 0 skipped."]
    assert Job.objects.filter(pk=letter.job_id).exists() and not DeadLetter.objects.exists()


def test_browser_dead_letter_purge__confirm_then_gone(admin_page):
    letter = support.dead_letter()
    admin_page.goto(LETTERS)
    run_action(admin_page, "Purge selected dead letters with their jobs and attempts", [letter.pk])
    assert admin_page.locator("#dj-purge-list li").count() == 1
    submit(admin_page, "input[type=submit]")
    assert messages(admin_page) == ["Purge: 1 changed, 0 skipped."]
    assert not Job.objects.filter(pk=letter.job_id).exists()
