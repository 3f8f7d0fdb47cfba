"""The Queue and Role admins: pause / resume, limits, jobs per state."""

from __future__ import annotations

import pytest
from django.urls import reverse

from django_jobs.models import Queue, Role
from tests.browser import support

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


def test_queue_pause_action__paused_and_reported(admin_client):
    support.queued_job()
    paused = Queue.objects.create(name="bulk", paused=True)
    mail = Queue.objects.get(name="mail")
    response = support.post_action(admin_client, "queue", "pause_queues", [mail, paused])
    assert support.messages_of(response) == ["Pause: 1 changed, 1 skipped (1 already paused)."]
    assert Queue.objects.get(name="mail").paused


def test_queue_resume_action__resumed_and_reported(admin_client):
    paused = Queue.objects.create(name="bulk", paused=True)
    response = support.post_action(admin_client, "queue", "resume_queues", [paused])
    assert support.messages_of(response) == ["Resume: 1 changed, 0 skipped."]
    assert not Queue.objects.get(name="bulk").paused


def test_queue_changelist__counts_per_state(admin_client):
    support.queued_job(), support.queued_job("b@example.com")
    support.scheduled_job(), support.running_job()
    rows = admin_client.get(reverse("admin:django_jobs_queue_changelist")).context["cl"].result_list
    counts = {q.name: (q.scheduled, q.queued, q.running) for q in rows}
    assert counts == {"default": (1, 0, 1), "mail": (0, 2, 0)}


def test_queue_change__edits_limits_only(admin_client):
    queue = Queue.objects.create(name="reports")
    url = reverse("admin:django_jobs_queue_change", args=[queue.pk])
    form = {
        "max_concurrent": 3,
        "rate_numerator": 10,
        "rate_denominator": 1,
        "rate_period": "minute",
        "name": "renamed",
    }
    assert admin_client.post(url, form).status_code == 302
    queue.refresh_from_db()
    assert (queue.name, queue.max_concurrent, queue.rate_per_second) == ("reports", 3, 10 / 60)


def test_queue_change__rate_without_period_refused(admin_client):
    queue = Queue.objects.create(name="reports")
    url = reverse("admin:django_jobs_queue_change", args=[queue.pk])
    response = admin_client.post(url, {"rate_numerator": 10, "rate_denominator": 1})
    assert response.status_code == 200 and "rate_period" in response.context["adminform"].errors


def test_role_change__edits_queues(admin_client):
    queue = Queue.objects.create(name="reports")
    response = admin_client.post(
        reverse("admin:django_jobs_role_add"),
        {"name": "reporting", "description": "", "queues": [queue.pk]},
    )
    assert response.status_code == 302
    assert Role.objects.get(name="reporting").queue_names() == ["reports"]
