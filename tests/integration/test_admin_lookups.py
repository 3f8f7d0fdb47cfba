"""A change list accepts only the lookups of its own filters; others are dropped, said so."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from tests.browser import support

pytestmark = pytest.mark.django_db

MODELS = ["job", "deadletter", "queue", "role", "worker", "schedule"]
FOREIGN = [
    "claim_token__startswith=0",  # a hidden field
    "last_error__icontains=x",  # a scan of the whole table
    "args__contains=x",  # a server error on SQLite
    "id__gt=0",
    "name__regex=.*",
]


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = support.FAST_HASHERS


@pytest.fixture
def rows() -> None:
    support.succeeded_job(), support.queued_job(), support.dead_letter()
    support.worker("host:1")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("lookup", FOREIGN)
def test_lookups__a_lookup_no_filter_offers_is_dropped(admin_client, rows, model, lookup):
    url = reverse(f"admin:django_jobs_{model}_changelist")
    response = admin_client.get(f"{url}?{lookup}&o=1")
    assert response.status_code == 302
    assert response["Location"] == f"{url}?o=1"
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    field = lookup.split("=")[0]
    assert f"cannot be filtered by {field}" in unescape(page.content.decode())


@pytest.mark.parametrize("model", MODELS)
def test_lookups__every_filter_link_of_a_list_is_accepted(admin_client, rows, model):
    url = reverse(f"admin:django_jobs_{model}_changelist")
    page = admin_client.get(url).content.decode()
    sidebar = page.split('id="changelist-filter"', 1)[-1]
    links = {unescape(h) for h in re.findall(r'href="(\?[^"]+)"', sidebar)}
    for link in links:
        response = admin_client.get(f"{url}{link}")
        assert response.status_code == 200, link


def test_lookups__the_links_of_the_admin_pages_are_accepted(admin_client, rows):
    jobs = reverse("admin:django_jobs_job_changelist")
    for query in [
        "queue=default&state__exact=queued",
        "worker=host:1&state__exact=running",
        "worker__startswith=host:1/&state__exact=running",
    ]:
        assert admin_client.get(f"{jobs}?{query}").status_code == 200, query
    letters = reverse("admin:django_jobs_deadletter_changelist")
    assert admin_client.get(f"{letters}?definition=x").status_code == 200
