"""Every page renders, for any filter, search or page number; nothing is shown unescaped."""

from __future__ import annotations

import pytest
from django.urls import reverse

from django_jobs.models import Job
from tests.browser import support

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


MODELS = ["job", "deadletter", "queue", "role", "worker", "schedule"]
ODD_QUERIES = [
    {"q": "\x00"},
    {"q": "a\x00b"},
    {"q": "<script>alert(1)</script>"},
    {"q": "'\""},
    {"q": '"'},
    {"q": "%_\\"},
    {"q": "x" * 5000},
    {"q": "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
    {"q": "ZZZZZZZZZZZZZZZZZZZZZZZZZZ"},
    "q=%ED%A0%80&queue=%FF",  # not UTF-8: sent as raw bytes
    {"p": "999999999999999999"},
    {"p": "-3"},
    {"p": "abc"},
    {"p": "1" * 5000},
    {"queue": "\x00"},
    {"queue": "nope"},
    {"state__exact": "bogus"},
    {"created": "bogus"},
    {"definition": "<x>"},
    {"alive": "maybe"},
    {"resubmitted": "\x00"},
    {"o": "99"},
    {"o": "abc"},
    {"o": "-1.2"},
    {"worker": "\x00"},
    {"unknown_field": "1"},
    {"id__gt": "x"},
    {"run_at__gte": "not-a-date"},
    {"failed_at__gte": "2026-13-45"},
    {"all": ""},
    {"_facets": "1"},
    {"q": "a", "queue": "mail", "state__exact": "queued", "p": "7", "o": "1"},
]


@pytest.fixture
def rows() -> None:
    support.succeeded_job(), support.queued_job(), support.dead_letter()
    support.worker("host:1")


@pytest.mark.parametrize("model", MODELS)
def test_changelist__renders(admin_client, rows, model):
    url = reverse(f"admin:django_jobs_{model}_changelist")
    assert admin_client.get(url).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_changelist__odd_queries_never_an_error(admin_client, rows, model):
    changelist = reverse(f"admin:django_jobs_{model}_changelist")
    for query in ODD_QUERIES:
        url, params = (
            (f"{changelist}?{query}", {}) if isinstance(query, str) else (changelist, query)
        )
        response = admin_client.get(url, params, follow=True)
        assert response.status_code == 200, query
        assert b"<script>alert(1)</script>" not in response.content, query


@pytest.mark.parametrize("object_id", ["not-a-uuid", "\x00", "1" * 300, "%2F..%2F"])
@pytest.mark.parametrize("model", MODELS)
def test_change_page__odd_id_never_an_error(admin_client, model, object_id):
    url = reverse(f"admin:django_jobs_{model}_changelist") + f"{object_id}/change/"
    assert admin_client.get(url, follow=True).status_code == 200


def test_job_changelist__huge_page_shows_the_last_page(admin_client):
    jobs = [support.queued_job(str(i)) for i in range(3)]
    url = reverse("admin:django_jobs_job_changelist")
    response = admin_client.get(url, {"p": "1000000000"})
    assert response.status_code == 200 and len(response.context["cl"].result_list) == len(jobs)


def test_job_changelist__order_of_an_unsortable_column_ignored(admin_client):
    support.queued_job()
    url = reverse("admin:django_jobs_job_changelist")
    ordered = admin_client.get(url, {"o": "6"}).context["cl"].queryset
    assert ordered.query.order_by == ("-pk",)


def test_job_changelist__hostile_row_rendered_escaped(admin_client):
    job = Job.objects.create(name="<script>alert(1)</script>", queue="q", key="<i>k</i>")
    for url in [
        reverse("admin:django_jobs_job_changelist"),
        reverse("admin:django_jobs_job_change", args=[job.pk]),
    ]:
        page = admin_client.get(url).content
        assert b"<script>alert(1)</script>" not in page and b"<i>k</i>" not in page


def test_job_detail__result_and_error_escaped(admin_client):
    job = support.succeeded_job()
    Job.objects.filter(pk=job.pk).update(result={"html": "<b>x</b>"}, last_error="<u>e</u>")
    page = admin_client.get(reverse("admin:django_jobs_job_change", args=[job.pk])).content
    assert b"<b>x</b>" not in page and b"<u>e</u>" not in page
    assert b"&lt;b&gt;x&lt;/b&gt;" in page


def test_admin_index__links_the_dashboard(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:django_jobs_dashboard") in page


def test_job_changelist__links_the_dashboard(admin_client):
    page = admin_client.get(reverse("admin:django_jobs_job_changelist")).content.decode()
    assert reverse("admin:django_jobs_dashboard") in page


@pytest.mark.parametrize("refresh", ["abc", "-1", "0", "9" * 500, "\x00"])
def test_dashboard__odd_refresh_never_an_error(admin_client, rows, refresh):
    response = admin_client.get(reverse("admin:django_jobs_dashboard"), {"refresh": refresh})
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_action__forged_ids_never_an_error(admin_client, model):
    url = reverse(f"admin:django_jobs_{model}_changelist")
    forged = {"action": "delete_selected", "index": 0, "_selected_action": ["x", "\x00", "-1"]}
    assert admin_client.post(url, forged, follow=True).status_code == 200
