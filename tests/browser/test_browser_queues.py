"""Queues and roles in a real browser: pause, resume, limits, counts, a role's queues."""

from __future__ import annotations

import pytest

from django_jobs.models import Queue, Role
from tests.browser import support
from tests.browser.pages import messages, run_action, screenshot, submit

pytestmark = pytest.mark.django_db(transaction=True)

QUEUES = "/admin/django_jobs/queue/"


def test_browser_queues__counts_per_state(admin_page):
    support.queued_job(), support.queued_job("b@example.com"), support.running_job()
    admin_page.goto(QUEUES)
    screenshot(admin_page, "queues")
    mail = admin_page.locator("#result_list tbody tr", has_text="mail")
    assert mail.locator("td.field-queued").inner_text() == "2"


def test_browser_queue_pause__message(admin_page):
    support.queued_job()
    mail = Queue.objects.get(name="mail")
    admin_page.goto(QUEUES)
    run_action(admin_page, "Pause selected queues", [mail.pk])
    assert messages(admin_page) == ["Pause: 1 changed, 0 skipped."]
    assert Queue.objects.get(pk=mail.pk).paused


def test_browser_queue_resume__message(admin_page):
    queue = Queue.objects.create(name="bulk", paused=True)
    admin_page.goto(QUEUES)
    run_action(admin_page, "Resume selected queues", [queue.pk])
    assert messages(admin_page) == ["Resume: 1 changed, 0 skipped."]
    assert not Queue.objects.get(pk=queue.pk).paused


def test_browser_queue_edit__limits_saved(admin_page):
    queue = Queue.objects.create(name="reports")
    admin_page.goto(f"{QUEUES}{queue.pk}/change/")
    admin_page.fill("#id_max_concurrent", "4")
    admin_page.fill("#id_rate_numerator", "30")
    admin_page.select_option("#id_rate_period", "minute")
    submit(admin_page, "input[name=_save]")
    queue.refresh_from_db()
    assert (queue.max_concurrent, queue.rate_numerator, queue.rate_period) == (4, 30, "minute")


def test_browser_role_edit__choose_queues(admin_page):
    Queue.objects.create(name="reports")
    admin_page.goto("/admin/django_jobs/role/add/")
    admin_page.fill("#id_name", "reporting")
    admin_page.select_option("#id_queues_from", label="reports")
    admin_page.click("#id_queues_add")
    submit(admin_page, "input[name=_save]")
    assert Role.objects.get(name="reporting").queue_names() == ["reports"]
