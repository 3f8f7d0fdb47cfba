"""The DeadLetter admin: resubmit (one by one, in bulk), delete, purge, history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from django_jobs.models import DeadLetter, Job
from tests.browser import support

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


def test_dead_letter_resubmit_action__reset_gives_all_attempts(admin_client):
    letter = support.dead_letter()
    response = support.post_action(admin_client, "deadletter", "resubmit_reset", [letter])
    assert support.messages_of(response) == ["Resubmit: 1 changed, 0 skipped."]
    assert Job.objects.get(resubmitted_from=letter.job_id).max_attempts == 3


def test_dead_letter_resubmit_action__keep_gives_what_was_left(admin_client):
    letter = support.dead_letter()
    support.post_action(admin_client, "deadletter", "resubmit_keep", [letter])
    assert Job.objects.get(resubmitted_from=letter.job_id).max_attempts == 1


def test_dead_letter_resubmit_action__resubmitted_ones_skipped(admin_client):
    done, pending = support.dead_letter(), support.dead_letter()
    done.resubmit()
    response = support.post_action(admin_client, "deadletter", "resubmit_reset", [done, pending])
    assert support.messages_of(response) == [
        "Resubmit: 1 changed, 1 skipped (1 already resubmitted)."
    ]


def test_dead_letter_bulk_resubmit__limit_per_definition(admin_client):
    letters = [support.dead_letter(str(i)) for i in range(3)]
    url = reverse("admin:django_jobs_deadletter_bulk_resubmit")
    form = {"definition": letters[0].name, "limit": 2, "reset_retry_count": "on"}
    response = admin_client.post(url, form, follow=True)
    assert support.messages_of(response) == ["Bulk resubmit: 2 changed, 0 skipped."]
    assert DeadLetter.objects.filter(resubmitted_at__isnull=True).count() == 1


def test_dead_letter_bulk_resubmit__bad_limit_shows_the_form_again(admin_client):
    letter = support.dead_letter()
    url = reverse("admin:django_jobs_deadletter_bulk_resubmit")
    response = admin_client.post(url, {"definition": letter.name, "limit": "-5"})
    assert response.status_code == 200 and response.context["form"].errors["limit"]
    assert DeadLetter.objects.get().resubmitted_at is None


def test_dead_letter_bulk_resubmit__unknown_definition_refused(admin_client):
    support.dead_letter()
    url = reverse("admin:django_jobs_deadletter_bulk_resubmit")
    response = admin_client.post(url, {"definition": "<nope>", "limit": 5})
    assert response.context["form"].errors["definition"]


def test_dead_letter_purge_action__confirm_then_jobs_deleted(admin_client):
    letter = support.dead_letter()
    first = support.post_action(admin_client, "deadletter", "purge", [letter])
    assert first.templates[0].name == "django_jobs/admin/purge_confirmation.html"
    assert DeadLetter.objects.exists()
    response = support.post_action(admin_client, "deadletter", "purge", [letter], post="yes")
    assert support.messages_of(response) == ["Purge: 1 changed, 0 skipped."]
    assert not Job.objects.filter(pk=letter.job_id).exists()


def test_dead_letter_delete_action__keeps_the_failed_job(admin_client):
    letter = support.dead_letter()
    response = support.post_action(
        admin_client, "deadletter", "delete_selected", [letter], post="yes"
    )
    assert support.messages_of(response) == ["Delete: 1 changed, 0 skipped."]
    assert not DeadLetter.objects.exists() and Job.objects.filter(pk=letter.job_id).exists()


def test_dead_letter_detail__attempt_history_escaped(admin_client):
    letter = support.dead_letter("<img src=x onerror=alert(1)>")
    url = reverse("admin:django_jobs_deadletter_change", args=[letter.pk])
    page = admin_client.get(url).content.decode()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    attempts = page[page.index('class="dj-attempts"') :]
    assert attempts.count("RuntimeError") >= 3


def test_dead_letter_changelist__filter_by_definition_and_resubmitted(admin_client):
    letter, other = support.dead_letter(), support.dead_letter()
    other.resubmit()
    url = reverse("admin:django_jobs_deadletter_changelist")
    query = {"definition": letter.name, "resubmitted": "no"}
    assert list(admin_client.get(url, query).context["cl"].result_list) == [letter]
