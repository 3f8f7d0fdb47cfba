"""What the browser tests do on admin pages: log in, run an action, read messages, screenshot."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"
PASSWORD = "correct horse battery staple"


def login(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def screenshot(page: Any, name: str) -> None:
    """Save ``docs/img/<name>.png`` when ``DJANGO_JOBS_SCREENSHOTS=1``."""
    if os.environ.get("DJANGO_JOBS_SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=True)


def run_action(page: Any, label: str, pks: list[Any]) -> None:
    """Tick the rows ``pks`` on the current changelist and run the action ``label``."""
    for pk in pks:
        page.check(f'input.action-select[value="{pk}"]')
    page.select_option("select[name=action]", label=label)
    submit(page, "button[name=index]")


def submit(page: Any, selector: str) -> None:
    """Click ``selector`` and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def messages(page: Any) -> list[str]:
    """The admin messages on the current page."""
    return page.locator("ul.messagelist li").all_inner_texts()
