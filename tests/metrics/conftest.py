"""Rows, users and a scrape helper for the metrics view's tests (rows written directly, so
that every number the view shows is known)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from django_jobs.api.auth import make_token
from django_jobs.models import Job, JobAttempt, Worker
from django_jobs.states import State

URL = "/jobs/metrics/"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

Samples = dict[tuple[tuple[str, str], ...], float]


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


_users = iter(range(1_000_000))


def make_user(*codenames: str) -> User:
    user = User.objects.create_user(f"scraper{next(_users)}", password="pw")
    perms = Permission.objects.filter(content_type__app_label="django_jobs", codename__in=codenames)
    user.user_permissions.set(perms)
    return user


def token_client(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {make_token(user)}")


@pytest.fixture
def scraper(db: Any) -> Client:
    """A token client of a user with exactly ``django_jobs.view_job``."""
    return token_client(make_user("view_job"))


def job(
    queue: str = "default", state: str = State.QUEUED, name: str = "tests.metrics.job", **fields
) -> Job:
    return Job.objects.create(queue=queue, state=state, name=name, **fields)


def attempt(
    of: Job,
    outcome: str,
    *,
    finished_at: datetime | None = None,
    run: timedelta = timedelta(seconds=2),
    number: int = 1,
) -> JobAttempt:
    """An attempt of ``of`` that finished at ``finished_at`` (default: 5 minutes ago)."""
    finished = finished_at or timezone.now() - timedelta(minutes=5)
    return JobAttempt.objects.create(
        job=of, number=number, started_at=finished - run, finished_at=finished, outcome=outcome
    )


def worker(pk: str, *, concurrency: int = 1, alive: bool = True) -> Worker:
    heartbeat = timezone.now() - timedelta(seconds=0 if alive else 3600)
    return Worker.objects.create(
        id=pk, hostname="host", pid=1, concurrency=concurrency, heartbeat_at=heartbeat
    )


def parse(text: str) -> dict[str, Any]:
    """The families of an exposition by name (``prometheus_client``'s own parser)."""
    from prometheus_client.parser import text_string_to_metric_families

    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(families: dict[str, Any], sample_name: str) -> Samples:
    """``{sorted label items: value}`` of every sample called ``sample_name``."""
    found: Samples = {}
    for family in families.values():
        for sample in family.samples:
            if sample.name == sample_name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def scrape(client: Client) -> dict[str, Any]:
    response = client.get(URL)
    assert response.status_code == 200, response.content
    return parse(response.content.decode())
