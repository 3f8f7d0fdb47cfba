"""Users, clients and rows for the API tests; every API response is checked against the
OpenAPI document (an autouse fixture wraps the test client)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from django_jobs.api.auth import make_token
from django_jobs.api.openapi import build_document
from django_jobs.api.urls import ENDPOINTS
from django_jobs.models import DeadLetter, Job
from django_jobs.testing import run_inline
from django_jobs.worker.record import claim_one
from tests.api.openapi_check import ResponseChecker
from tests.testapp import jobs as defs

API = "/jobs/api/"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DOCUMENT = build_document(ENDPOINTS, API)
CHECKER = ResponseChecker(DOCUMENT)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _check_responses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every response the test client gets from the API must match the document."""
    original = Client.request

    def request(self: Client, **environ: Any) -> Any:
        response = original(self, **environ)
        path = environ.get("PATH_INFO", "")
        if path.startswith(API):
            CHECKER.check(environ["REQUEST_METHOD"], path, response)
        return response

    monkeypatch.setattr(Client, "request", request)


# --- users and clients --------------------------------------------------------------------------

_users = iter(range(1_000_000))


def make_user(*codenames: str, superuser: bool = False, password: str = "pw") -> User:
    """A user with exactly these django_jobs permissions (or a superuser)."""
    name = f"user{next(_users)}"
    if superuser:
        return User.objects.create_superuser(name, password=password)
    user = User.objects.create_user(name, password=password)
    perms = Permission.objects.filter(content_type__app_label="django_jobs", codename__in=codenames)
    assert perms.count() == len(set(codenames)), f"unknown permission in {codenames}"
    user.user_permissions.set(perms)
    return user


def token_client(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {make_token(user)}")


def session_client(user: User, *, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(user)
    return client


@pytest.fixture
def api(db: Any) -> Client:
    """A superuser's token client."""
    return token_client(make_user(superuser=True))


@pytest.fixture
def client_with(db: Any) -> Callable[..., Client]:
    """``client_with("view_job", ...)``: a token client with exactly these permissions."""
    return lambda *codenames: token_client(make_user(*codenames))


def send(client: Client, method: str, url: str, data: Any = None, **extra: Any) -> Any:
    """A JSON request; ``data`` is encoded unless it is already bytes or text."""
    if data is not None and not isinstance(data, (bytes, str)):
        data = json.dumps(data)
    kwargs: dict[str, Any] = {"content_type": "application/json", **extra}
    if data is not None:
        kwargs["data"] = data
    return getattr(client, method.lower())(url, **kwargs)


def errors_of(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, (response.status_code, response.content)
    return response.json()["errors"]


# --- rows, made the way production makes them ---------------------------------------------------


def queued_job(to: str = "a@example.com") -> Job:
    return defs.send_email.enqueue(to)


def scheduled_job() -> Job:
    return defs.add.using(delay=timedelta(hours=1)).enqueue(2, 3)


def running_job() -> Job:
    job = defs.add.enqueue(3, 4)
    assert claim_one(job, "host:1/1")
    return job


def succeeded_job() -> Job:
    job = defs.add.enqueue(1, 2)
    run_inline([job])
    return Job.objects.get(pk=job.pk)


def dead_letter(message: str = "boom") -> DeadLetter:
    """A job of ``always_fails`` run to the end: 3 failed attempts, then a dead letter."""
    job = defs.always_fails.enqueue(message)
    run_inline([job])
    return DeadLetter.objects.select_related("job").get(job_id=job.pk)
