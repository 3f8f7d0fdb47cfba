"""Authentication: bearer tokens (signed, revocable, optionally expiring) and sessions (with
Django's CSRF check on unsafe methods); the jobs_api_token command."""

from __future__ import annotations

import time
from io import StringIO
from unittest import mock

import pytest
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import Client

from django_jobs.api import settings as api_settings
from django_jobs.api.auth import make_token, user_from_token
from tests.api.conftest import API, make_user, send, session_client, token_client

pytestmark = pytest.mark.django_db
JOBS = f"{API}jobs/"
CANCEL = f"{API}jobs/cancel/"
EMPTY_CANCEL = {"ids": ["00000000-0000-0000-0000-000000000000"]}


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_token__authenticates_its_user():
    user = make_user("view_job")
    assert user_from_token(make_token(user)) == user
    assert send(token_client(user), "GET", JOBS).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a:b:c",
        signing.dumps(["1", "x"], salt="another.salt"),
        signing.dumps("not a pair", salt="django_jobs.api"),
        signing.dumps(["999999", "x"], salt="django_jobs.api"),
    ],
)
def test_token__invalid_is_401(token):
    response = send(bearer(token), "GET", JOBS)
    assert response.status_code == 401 and response.json()["error"] == "not_authenticated"


def test_token__tampered_is_401():
    token = make_token(make_user("view_job"))
    assert send(bearer(token[:-2] + "xx"), "GET", JOBS).status_code == 401


def test_token__changing_the_password_revokes_it():
    user = make_user("view_job")
    token = make_token(user)
    user.set_password("new password")
    user.save()
    assert send(bearer(token), "GET", JOBS).status_code == 401
    assert send(bearer(make_token(user)), "GET", JOBS).status_code == 200


def test_token__of_an_inactive_user_is_401():
    user = make_user("view_job")
    token = make_token(user)
    user.is_active = False
    user.save()
    assert send(bearer(token), "GET", JOBS).status_code == 401


def test_token__expires_after_max_age(settings):
    settings.DJANGO_JOBS_API_TOKEN_MAX_AGE = 60
    token = make_token(make_user("view_job"))
    assert send(bearer(token), "GET", JOBS).status_code == 200
    later = time.time() + 61
    with mock.patch("django.core.signing.time.time", return_value=later):
        assert send(bearer(token), "GET", JOBS).status_code == 401


def test_token__no_csrf_needed_for_unsafe_methods():
    client = Client(
        enforce_csrf_checks=True,
        HTTP_AUTHORIZATION=f"Bearer {make_token(make_user('cancel_job'))}",
    )
    assert send(client, "POST", CANCEL, EMPTY_CANCEL).status_code == 200


def test_token__a_bad_one_wins_over_a_session():
    client = session_client(make_user("view_job"))
    assert send(client, "GET", JOBS).status_code == 200
    assert send(client, "GET", JOBS, HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401


def test_other_schemes__are_ignored():
    client = session_client(make_user("view_job"))
    assert send(client, "GET", JOBS, HTTP_AUTHORIZATION="Basic dTpw").status_code == 200
    assert send(Client(), "GET", JOBS, HTTP_AUTHORIZATION="Basic dTpw").status_code == 401


def test_session__reads_without_csrf_token():
    client = session_client(make_user("view_job"), enforce_csrf_checks=True)
    assert send(client, "GET", JOBS).status_code == 200


def test_session__unsafe_method_needs_the_csrf_token():
    client = session_client(make_user("cancel_job"), enforce_csrf_checks=True)
    response = send(client, "POST", CANCEL, EMPTY_CANCEL)
    assert response.status_code == 403 and response.json()["error"] == "csrf_failed"
    secret = "a" * 32
    client.cookies["csrftoken"] = secret
    response = send(client, "POST", CANCEL, EMPTY_CANCEL, HTTP_X_CSRFTOKEN=secret)
    assert response.status_code == 200


def test_session__anonymous_is_401_even_for_unsafe_methods():
    response = send(Client(enforce_csrf_checks=True), "POST", CANCEL, EMPTY_CANCEL)
    assert response.status_code == 401


# --- the command -------------------------------------------------------------------------------


def test_command__prints_a_working_token():
    user = make_user("view_job")
    out = StringIO()
    call_command("jobs_api_token", user.username, stdout=out)
    assert send(bearer(out.getvalue().strip()), "GET", JOBS).status_code == 200


def test_command__unknown_user():
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("jobs_api_token", "ghost")


def test_command__inactive_user():
    user = make_user()
    user.is_active = False
    user.save()
    with pytest.raises(CommandError, match="inactive"):
        call_command("jobs_api_token", user.username)


# --- settings ------------------------------------------------------------------------------------


def test_settings__defaults():
    assert api_settings.max_body_bytes() == 1024 * 1024
    assert api_settings.token_max_age() is None


@pytest.mark.parametrize("value", [0, -1, "big", True, 1.5])
def test_settings__bad_max_body_bytes(settings, value):
    settings.DJANGO_JOBS_API_MAX_BODY_BYTES = value
    with pytest.raises(ImproperlyConfigured, match="DJANGO_JOBS_API_MAX_BODY_BYTES"):
        api_settings.max_body_bytes()


@pytest.mark.parametrize("value", [0, -5, "1h", True])
def test_settings__bad_token_max_age(settings, value):
    settings.DJANGO_JOBS_API_TOKEN_MAX_AGE = value
    with pytest.raises(ImproperlyConfigured, match="DJANGO_JOBS_API_TOKEN_MAX_AGE"):
        api_settings.token_max_age()


def test_settings__token_max_age_accepts_a_timedelta(settings):
    from datetime import timedelta

    settings.DJANGO_JOBS_API_TOKEN_MAX_AGE = timedelta(hours=1)
    assert api_settings.token_max_age() == 3600.0
