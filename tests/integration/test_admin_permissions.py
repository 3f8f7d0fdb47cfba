"""Custom permissions gate the actions: a user without them sees no such action."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from django_jobs.models import Job
from django_jobs.states import State
from tests.browser import support

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


def staff_client(*codenames: str) -> Client:
    """A logged-in staff user with exactly these django_jobs permissions."""
    name = f"operator{User.objects.count()}"
    user = User.objects.create_user(name, password="pw", is_staff=True)
    perms = Permission.objects.filter(content_type__app_label="django_jobs", codename__in=codenames)
    user.user_permissions.set(perms)
    client = Client()
    client.force_login(user)
    return client


def action_names(client: Client, model: str) -> set[str]:
    page = client.get(reverse(f"admin:django_jobs_{model}_changelist"))
    form = page.context.get("action_form")
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def test_job_actions__view_only_user_sees_none():
    assert action_names(staff_client("view_job"), "job") == set()


def test_job_actions__each_permission_shows_its_actions():
    client = staff_client("view_job", "cancel_job")
    assert action_names(client, "job") == {"cancel_jobs"}
    client = staff_client("view_job", "resubmit_job")
    assert action_names(client, "job") == {"resubmit_jobs", "run_now_jobs"}


def test_job_actions__posting_a_hidden_action_changes_nothing():
    job = support.queued_job()
    client = staff_client("view_job")
    support.post_action(client, "job", "cancel_jobs", [job])
    assert Job.objects.get(pk=job.pk).state == State.QUEUED


def test_dead_letter_actions__resubmit_needs_resubmit_job():
    client = staff_client("view_deadletter", "delete_deadletter")
    assert action_names(client, "deadletter") == {"delete_selected"}


def test_dead_letter_bulk_resubmit__forbidden_without_permission():
    support.dead_letter()
    client = staff_client("view_deadletter")
    url = reverse("admin:django_jobs_deadletter_bulk_resubmit")
    assert client.get(url).status_code == 403
    changelist = client.get(reverse("admin:django_jobs_deadletter_changelist"))
    assert b"dj-bulk-resubmit" not in changelist.content


def test_schedule_actions__need_change_schedule():
    assert action_names(staff_client("view_schedule"), "schedule") == set()
    assert len(action_names(staff_client("view_schedule", "change_schedule"), "schedule")) == 4


def test_dashboard__needs_view_job():
    assert staff_client("view_queue").get(reverse("admin:django_jobs_dashboard")).status_code == 403
