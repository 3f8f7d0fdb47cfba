"""The Worker admin: alive or dead, current jobs, last heartbeat."""

from __future__ import annotations

import pytest
from django.urls import reverse

from django_jobs.models import Worker
from tests.browser import support

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


def test_worker_changelist__alive_dead_and_current_jobs(admin_client):
    supervisor = support.worker("host:1")
    support.worker("host:1/1", supervisor=supervisor)
    support.worker("old:2", alive=False)
    support.running_job(worker="host:1/1")
    page = admin_client.get(reverse("admin:django_jobs_worker_changelist"))
    rows = {w.pk: w.running for w in page.context["cl"].result_list}
    assert rows == {"host:1": 1, "host:1/1": 1, "old:2": 0}
    html = page.content.decode()
    assert html.count("dj-badge dj-alive") == 2 and html.count("dj-badge dj-dead") == 1


def test_worker_changelist__alive_filter(admin_client):
    support.worker("host:1"), support.worker("old:2", alive=False)
    url = reverse("admin:django_jobs_worker_changelist")
    dead = admin_client.get(url, {"alive": "no"}).context["cl"].result_list
    assert [w.pk for w in dead] == ["old:2"]


def test_worker_detail__lists_the_running_jobs(admin_client):
    supervisor = support.worker("host:1")
    job = support.running_job(worker="host:1/1")
    url = reverse("admin:django_jobs_worker_change", args=[supervisor.pk])
    assert str(job.pk) in admin_client.get(url).content.decode()


def test_worker_delete_action__alive_ones_skipped(admin_client):
    alive, dead = support.worker("host:1"), support.worker("old:2", alive=False)
    response = support.post_action(
        admin_client, "worker", "delete_selected", [alive, dead], post="yes"
    )
    assert support.messages_of(response) == [
        "Delete: 1 changed, 1 skipped (1 alive: stop it first)."
    ]
    assert list(Worker.objects.values_list("pk", flat=True)) == ["host:1"]


def test_worker_detail__alive_worker_cannot_be_deleted(admin_client):
    alive = support.worker("host:1")
    delete = reverse("admin:django_jobs_worker_delete", args=[alive.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Worker.objects.filter(pk=alive.pk).exists()
