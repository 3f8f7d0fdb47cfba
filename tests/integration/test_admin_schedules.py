"""The Schedule admin: enable, disable, re-enable a skipped one, run now, next runs."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from django_jobs.admin.schedules import every
from django_jobs.models import Job, Schedule
from django_jobs.worker.recurring import sync_schedules
from tests.browser import support

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


DIGEST = "tests.testapp.jobs.daily_digest"
PURGE = "tests.testapp.jobs.PurgeSessions"


@pytest.fixture
def schedules() -> dict[str, Schedule]:
    return {s.name: s for s in sync_schedules()}


def test_schedule_disable_action__disabled_and_reported(admin_client, schedules):
    Schedule.objects.filter(name=PURGE).update(enabled=False)
    picked = [schedules[DIGEST], schedules[PURGE]]
    response = support.post_action(admin_client, "schedule", "disable_schedules", picked)
    assert support.messages_of(response) == ["Disable: 1 changed, 1 skipped (1 already disabled)."]
    assert not Schedule.objects.get(name=DIGEST).enabled


def test_schedule_enable_action__enabled(admin_client, schedules):
    Schedule.objects.filter(name=DIGEST).update(enabled=False)
    response = support.post_action(
        admin_client, "schedule", "enable_schedules", [schedules[DIGEST]]
    )
    assert support.messages_of(response) == ["Enable: 1 changed, 0 skipped."]
    assert Schedule.objects.get(name=DIGEST).enabled


def test_schedule_reenable_action__only_skipped_ones(admin_client, schedules):
    Schedule.objects.filter(name=PURGE).update(skipped_at=timezone.now(), consecutive_failures=3)
    picked = [schedules[DIGEST], schedules[PURGE]]
    response = support.post_action(admin_client, "schedule", "reenable_schedules", picked)
    assert support.messages_of(response) == ["Re-enable: 1 changed, 1 skipped (1 not skipped)."]
    assert Schedule.objects.get(name=PURGE).skipped_at is None


def test_schedule_run_now_action__enqueues_runs(admin_client, schedules):
    response = support.post_action(admin_client, "schedule", "run_now", [schedules[DIGEST]])
    assert support.messages_of(response) == ["Run now: 1 changed, 0 skipped."]
    assert Job.objects.filter(name=DIGEST, scheduled_for__isnull=True).count() == 1


def test_schedule_run_now_action__unknown_definition_skipped(admin_client):
    ghost = Schedule.objects.create(name="gone.job", kind="interval", interval_seconds=60)
    response = support.post_action(admin_client, "schedule", "run_now", [ghost])
    assert support.messages_of(response) == [
        "Run now: 0 changed, 1 skipped (1 no worker knows this definition)."
    ]


def test_schedule_detail__next_runs(admin_client, schedules):
    schedule = schedules[DIGEST]
    url = reverse("admin:django_jobs_schedule_change", args=[schedule.pk])
    page = admin_client.get(url).content.decode()
    assert page.count("<li>", page.index("dj-next-runs")) >= 5


@pytest.mark.parametrize(
    ("seconds", "text"), [(3600, "1 h"), (600, "10 min"), (90, "90 s"), (0.5, "0.5 s")]
)
def test_schedule_every__largest_whole_unit(seconds, text):
    assert every(seconds) == text


def test_schedule_list__last_outcome_and_not_durable_badge(admin_client, schedules):
    Schedule.objects.filter(name=DIGEST).update(last_outcome="timeout", durable=False)
    page = admin_client.get(reverse("admin:django_jobs_schedule_changelist")).content.decode()
    assert '<span class="dj-badge dj-timeout">timeout</span>' in page
    assert page.count('<span class="dj-badge dj-not-durable">not durable</span>') == 1


def test_schedule_list__durable_filter(admin_client, schedules):
    Schedule.objects.filter(name=DIGEST).update(durable=False)
    url = reverse("admin:django_jobs_schedule_changelist") + "?durable__exact=0"
    page = admin_client.get(url).content.decode()
    assert "daily_<wbr>digest" in page
    assert "PurgeSessions" not in page


def test_schedule_detail__last_run_error_duration_durable(admin_client, schedules):
    Schedule.objects.filter(name=DIGEST).update(
        last_outcome="failed",
        last_error="builtins.RuntimeError: <the upstream> is down",
        last_duration_seconds=1.25,
        durable=False,
    )
    url = reverse("admin:django_jobs_schedule_change", args=[schedules[DIGEST].pk])
    page = admin_client.get(url).content.decode()
    assert '<span class="dj-badge dj-failed">failed</span>' in page
    assert "builtins.RuntimeError: &lt;the upstream&gt; is down" in page
    assert "1.2 s" in page
    # The field's value is the first read-only box after its label (Django's markup and its
    # whitespace differ between versions).
    after = page[page.index("fieldBox field-durable_display") :]
    value = after[after.index('<div class="readonly">') :]
    assert value.startswith('<div class="readonly">no</div>')
