"""Times in the control room: shown to the second, with the full precision in a tooltip.

Four attempts of one job a few seconds apart must not look identical.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.urls import reverse

from django_jobs.models import DeadLetter, Job, JobAttempt, Outcome
from tests.browser import support

pytestmark = pytest.mark.django_db

#: Four moments of one minute: seconds 5, 17, 29 and 41, with and without microseconds.
MOMENTS = [
    datetime(2026, 3, 14, 9, 26, second, micro, tzinfo=timezone.utc)
    for second, micro in [(5, 123456), (17, 0), (29, 500000), (41, 999999)]
]


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


def four_attempts() -> DeadLetter:
    """A dead letter whose job failed four times within one minute."""
    letter = support.dead_letter()
    JobAttempt.objects.filter(job_id=letter.job_id).delete()
    JobAttempt.objects.bulk_create(
        JobAttempt(
            job_id=letter.job_id,
            number=number,
            outcome=Outcome.FAILED,
            started_at=moment,
            finished_at=moment + timedelta(milliseconds=300),
            error_type="RuntimeError",
            error_message="boom",
        )
        for number, moment in enumerate(MOMENTS, start=1)
    )
    return letter


def shown(html: bytes, moments: list[datetime]) -> list[str]:
    """The text of the cell that shows each of ``moments``, found by its full-precision title.

    Fails when a moment has no cell whose tooltip gives it to the microsecond, with its
    time zone (ISO 8601).
    """
    page = support.cells(html)
    texts = []
    for moment in moments:
        full = moment.isoformat(timespec="microseconds")
        found = [c for c in page if c.tag == "td" and full in c.titles]
        assert found, f"no cell titled {full}"
        texts.append(found[0].text)
    return texts


def assert_to_the_second(texts: list[str]) -> None:
    assert len(set(texts)) == len(texts), texts
    for text, moment in zip(texts, MOMENTS, strict=True):
        assert f"{moment:%H:%M:%S}" in text, text


def test_job_detail__attempts_started_to_the_second(admin_client):
    letter = four_attempts()
    url = reverse("admin:django_jobs_job_change", args=[letter.job_id])
    assert_to_the_second(shown(admin_client.get(url).content, MOMENTS))


def test_dead_letter_detail__attempts_started_to_the_second(admin_client):
    letter = four_attempts()
    url = reverse("admin:django_jobs_deadletter_change", args=[letter.pk])
    assert_to_the_second(shown(admin_client.get(url).content, MOMENTS))


def test_job_detail__its_times_to_the_second(admin_client):
    job = support.succeeded_job()
    created, run_at, started, finished = MOMENTS
    Job.objects.filter(pk=job.pk).update(
        created_at=created, run_at=run_at, started_at=started, finished_at=finished
    )
    url = reverse("admin:django_jobs_job_change", args=[job.pk])
    page = support.cells(admin_client.get(url).content)
    for moment in MOMENTS:
        full = moment.isoformat(timespec="microseconds")
        found = [c for c in page if c.tag == "div" and full in c.titles]
        assert found and f"{moment:%H:%M:%S}" in found[0].text, full


def test_job_list__run_at_to_the_second(admin_client):
    for moment in MOMENTS:
        Job.objects.filter(pk=support.queued_job().pk).update(run_at=moment)
    url = reverse("admin:django_jobs_job_changelist")
    assert_to_the_second(shown(admin_client.get(url).content, MOMENTS))


def test_dead_letter_list__failed_at_to_the_second(admin_client):
    for moment in MOMENTS:
        DeadLetter.objects.filter(pk=support.dead_letter().pk).update(failed_at=moment)
    url = reverse("admin:django_jobs_deadletter_changelist")
    assert_to_the_second(shown(admin_client.get(url).content, MOMENTS))
