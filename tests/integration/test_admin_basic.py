"""The admin pages of every model render (the control room itself is tested in a browser)."""

import pytest
from django.urls import reverse

from django_jobs.models import DeadLetter, Job, Queue, Role, Schedule, Worker
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Job, Queue, Role, Schedule, Worker, DeadLetter])
def test_admin__changelist_renders(admin_client, model):
    defs.add.enqueue(1, 2)
    url = reverse(f"admin:django_jobs_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200


def test_admin__job_detail_escapes_arguments(admin_client):
    job = defs.send_email.enqueue("<script>alert(1)</script>")
    page = admin_client.get(reverse("admin:django_jobs_job_change", args=[job.pk]))
    assert page.status_code == 200
    assert b"<script>alert(1)</script>" not in page.content
