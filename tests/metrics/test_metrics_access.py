"""Who may scrape the metrics view: token or session with view_job, or anyone when public."""

from __future__ import annotations

import sys

import pytest
from django.test import Client

import django_jobs.metrics
from tests.metrics.conftest import URL, make_user, parse, token_client

pytestmark = pytest.mark.django_db


def assert_no_data(response) -> None:
    assert b"django_jobs_" not in response.content
    assert response["Content-Type"].startswith("text/plain")


def test_metrics__anonymous_gets_401_and_no_data():
    response = Client().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="django_jobs"'
    assert_no_data(response)


def test_metrics__invalid_token_gets_401_even_with_a_session():
    client = Client(HTTP_AUTHORIZATION="Bearer not-a-token")
    client.force_login(make_user("view_job"))
    response = client.get(URL)
    assert response.status_code == 401
    assert_no_data(response)


def test_metrics__token_without_view_job_gets_403_and_no_data():
    response = token_client(make_user("cancel_job")).get(URL)
    assert response.status_code == 403
    assert b"django_jobs.view_job" in response.content
    assert_no_data(response)


def test_metrics__session_without_view_job_gets_403():
    client = Client()
    client.force_login(make_user())
    assert client.get(URL).status_code == 403


def test_metrics__token_with_view_job_gets_the_exposition():
    response = token_client(make_user("view_job")).get(URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-cache" in response["Cache-Control"]
    assert "django_jobs_jobs" in parse(response.content.decode())


def test_metrics__session_with_view_job_gets_the_exposition():
    client = Client()
    client.force_login(make_user("view_job"))
    assert client.get(URL).status_code == 200


def test_metrics__public_setting_needs_no_credentials(settings):
    settings.DJANGO_JOBS_METRICS_PUBLIC = True
    response = Client().get(URL)
    assert response.status_code == 200
    assert "django_jobs_workers" in parse(response.content.decode())


def test_metrics__post_is_refused(scraper):
    assert scraper.post(URL).status_code == 405


def test_metrics__without_prometheus_client_answers_501(scraper, monkeypatch):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.delitem(sys.modules, "django_jobs.metrics.exposition", raising=False)
    monkeypatch.delattr(django_jobs.metrics, "exposition", raising=False)
    response = scraper.get(URL)
    assert response.status_code == 501
    assert b"django-dbjobs[metrics]" in response.content
