"""An empty value looks the same on every page of the control room: the admin's own "-"."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from django_jobs.admin import display
from django_jobs.models import DeadLetter, Job, Queue, Role, Schedule, Worker
from django_jobs.worker.recurring import sync_schedules
from tests.browser import support

pytestmark = pytest.mark.django_db

MODELS = ["job", "deadletter", "queue", "role", "worker", "schedule"]
#: Other ways of saying "nothing here", none of which the control room may use.
OTHER_EMPTIES = re.compile(r"[\u2014\u2013]|\bn/a\b|\bNone\b|^--$", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


@pytest.fixture
def rows() -> None:
    """Rows with empty values: never started, no progress, no rate, not resubmitted..."""
    support.queued_job(), support.scheduled_job(), support.succeeded_job()
    support.dead_letter()
    support.worker("host:1")
    Queue.objects.create(name="reports")
    Role.objects.create(name="nothing-yet")
    sync_schedules()


def pages() -> list[str]:
    """Every list, a detail page of every kind of row, and the dashboard."""
    urls = [reverse(f"admin:django_jobs_{model}_changelist") for model in MODELS]
    for model, manager in [
        ("job", Job.objects),
        ("deadletter", DeadLetter.objects),
        ("queue", Queue.objects),
        ("role", Role.objects),
        ("worker", Worker.objects),
        ("schedule", Schedule.objects),
    ]:
        urls += [
            reverse(f"admin:django_jobs_{model}_change", args=[pk])
            for pk in manager.values_list("pk", flat=True)
        ]
    return [
        *urls,
        reverse("admin:django_jobs_dashboard"),
        reverse("admin:django_jobs_dashboard_live"),
    ]


def test_empty_value__the_admins_own_dash():
    assert display.EMPTY == admin.site.empty_value_display == "-"


def test_empty_values__one_dash_style_on_every_page(admin_client, rows):
    dashes = 0
    for url in pages():
        response = admin_client.get(url)
        assert response.status_code == 200, url
        for cell in support.cells(response.content):
            assert not OTHER_EMPTIES.search(cell.text), (url, cell.text)
            dashes += cell.text == "-"
    assert dashes >= 10
