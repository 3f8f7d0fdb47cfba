"""A user without the cancel and resubmit permissions sees no such action."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from tests.browser import support
from tests.browser.pages import PASSWORD, login

pytestmark = pytest.mark.django_db(transaction=True)


def operator(*codenames: str) -> User:
    user = User.objects.create_user("operator", password=PASSWORD, is_staff=True)
    perms = Permission.objects.filter(content_type__app_label="django_jobs", codename__in=codenames)
    user.user_permissions.set(perms)
    return user


def action_labels(page) -> list[str]:
    """The actions offered, without the blank choice (its label differs between Django versions)."""
    return page.locator("select[name=action] option:not([value=''])").all_inner_texts()


def test_browser_permissions__view_only_user_sees_no_action(page):
    support.queued_job(), support.dead_letter()
    login(page, operator("view_job", "view_deadletter").username)
    page.goto("/admin/django_jobs/job/")
    assert page.locator("select[name=action]").count() == 0
    assert page.locator("input.action-select").count() == 0
    page.goto("/admin/django_jobs/deadletter/")
    assert page.locator("select[name=action]").count() == 0
    assert page.locator("#dj-bulk-resubmit").count() == 0


def test_browser_permissions__cancel_only(page):
    support.queued_job()
    login(page, operator("view_job", "cancel_job").username)
    page.goto("/admin/django_jobs/job/")
    assert action_labels(page) == ["Cancel selected jobs"]
