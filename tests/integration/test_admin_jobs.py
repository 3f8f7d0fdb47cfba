"""The Job admin through the test client: actions narrow, call model methods and report."""

from __future__ import annotations

import pytest
from django.urls import reverse

from django_jobs.models import Job
from django_jobs.states import State
from django_jobs.testing import run_jobs
from tests.browser import support
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


def test_job_cancel_action__waiting_cancelled_running_asked_finished_skipped(admin_client):
    queued, scheduled = support.queued_job(), support.scheduled_job()
    running, done = support.running_job(), support.succeeded_job()
    response = support.post_action(
        admin_client, "job", "cancel_jobs", [queued, scheduled, running, done]
    )
    assert support.messages_of(response) == [
        "Cancel: 3 changed (1 running: asked to stop), 1 skipped (1 already succeeded)."
    ]
    states = dict(Job.objects.values_list("pk", "state"))
    assert states[queued.pk] == states[scheduled.pk] == State.CANCELLED
    assert Job.objects.get(pk=running.pk).cancel_requested_at is not None


def test_job_cancel_action__running_already_asked_is_skipped(admin_client):
    running = support.running_job()
    running.cancel()
    response = support.post_action(admin_client, "job", "cancel_jobs", [running])
    assert support.messages_of(response) == [
        "Cancel: 0 changed, 1 skipped (1 running, already asked to stop)."
    ]


def test_job_resubmit_action__finished_resubmitted_active_skipped(admin_client):
    done, queued = support.succeeded_job(), support.queued_job()
    response = support.post_action(admin_client, "job", "resubmit_jobs", [done, queued])
    assert support.messages_of(response) == [
        "Resubmit: 1 changed, 1 skipped (1 queued, not finished)."
    ]
    copy = Job.objects.get(resubmitted_from=done.pk)
    assert (copy.state, copy.args) == (State.QUEUED, done.args)


def test_job_resubmit_action__unknown_definition_skipped(admin_client, clean_registry):
    done = support.succeeded_job()
    clean_registry.unregister(done.name)
    response = support.post_action(admin_client, "job", "resubmit_jobs", [done])
    assert support.messages_of(response) == [
        "Resubmit: 0 changed, 1 skipped (1 no worker knows this definition)."
    ]


def test_job_run_now_action__scheduled_becomes_queued(admin_client):
    scheduled, queued = support.scheduled_job(), support.queued_job()
    response = support.post_action(admin_client, "job", "run_now_jobs", [scheduled, queued])
    assert support.messages_of(response) == [
        "Run now: 1 changed, 1 skipped (1 queued, not scheduled)."
    ]
    assert Job.objects.get(pk=scheduled.pk).state == State.QUEUED


def test_job_run_now_action__a_retry_in_backoff_runs_early(admin_client):
    job = defs.slow_retry.enqueue()
    run_jobs()
    assert Job.objects.get(pk=job.pk).state == State.SCHEDULED
    response = support.post_action(admin_client, "job", "run_now_jobs", [job])
    assert support.messages_of(response) == ["Run now: 1 changed (1 retry run early), 0 skipped."]


def test_job_delete_action__confirmation_lists_only_finished_jobs(admin_client):
    done, queued = support.succeeded_job(), support.queued_job()
    response = support.post_action(admin_client, "job", "delete_selected", [done, queued])
    assert response.templates[0].name == "admin/delete_selected_confirmation.html"
    assert list(response.context["queryset"]) == [done]
    assert support.messages_of(response) == [
        "Delete: 0 changed, 1 skipped (1 queued: cancel it first)."
    ]


def test_job_delete_action__confirmed_deletes_and_reports(admin_client):
    done = support.succeeded_job()
    response = support.post_action(admin_client, "job", "delete_selected", [done], post="yes")
    assert support.messages_of(response) == ["Delete: 1 changed, 0 skipped."]
    assert not Job.objects.filter(pk=done.pk).exists()


def test_job_delete_action__nothing_eligible_no_confirmation(admin_client):
    queued = support.queued_job()
    response = support.post_action(admin_client, "job", "delete_selected", [queued])
    assert response.templates[0].name == "django_jobs/admin/job_change_list.html"
    assert Job.objects.filter(pk=queued.pk).exists()


def test_job_changelist__columns(admin_client):
    job = support.running_job()
    page = admin_client.get(reverse("admin:django_jobs_job_changelist")).content.decode()
    assert str(job.pk) in page and "dj-badge dj-running" in page and "1 of 4" in page


def test_job_changelist__unknown_definition_flagged(admin_client, clean_registry):
    job = support.queued_job()
    clean_registry.unregister(job.name, job.version)
    page = admin_client.get(reverse("admin:django_jobs_job_changelist")).content.decode()
    assert "no worker knows this definition" in page


def test_job_changelist__search_by_id_key_and_definition(admin_client):
    keyed = support.queued_job()
    Job.objects.filter(pk=keyed.pk).update(key="welcome:42")
    other = support.succeeded_job()
    url = reverse("admin:django_jobs_job_changelist")
    for term, found in [(str(other.pk), other), ("welcome:42", keyed), ("send_em", keyed)]:
        result = admin_client.get(url, {"q": term}).context["cl"].result_list
        assert list(result) == [found], term


def test_job_detail__arguments_result_traceback_and_attempts(admin_client):
    letter = support.dead_letter("<b>bold</b>")
    url = reverse("admin:django_jobs_job_change", args=[letter.job_id])
    page = admin_client.get(url).content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert "Traceback (most recent call last)" in page
    attempts = page[page.index('class="dj-attempts"') :]
    assert attempts.count('<span class="dj-badge dj-failed">failed</span>') == 3


def test_job_detail__active_job_cannot_be_deleted(admin_client):
    queued = support.queued_job()
    page = admin_client.get(reverse("admin:django_jobs_job_change", args=[queued.pk]))
    assert b'class="deletelink"' not in page.content
    delete = reverse("admin:django_jobs_job_delete", args=[queued.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Job.objects.filter(pk=queued.pk).exists()


def test_job_detail__finished_job_can_be_deleted(admin_client):
    done = support.succeeded_job()
    delete = reverse("admin:django_jobs_job_delete", args=[done.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Job.objects.filter(pk=done.pk).exists()
