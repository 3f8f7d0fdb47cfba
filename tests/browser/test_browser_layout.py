"""The control room's layout on a laptop (1400 x 900) and on a phone (390 x 844).

The index's dashboard link stays on one line.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"laptop": LAPTOP, "phone": PHONE}


def at(page: Any, viewport: dict[str, int], url: str) -> None:
    page.set_viewport_size(viewport)
    page.goto(url)


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_browser_index__dashboard_link_on_one_line(admin_page, viewport):
    at(admin_page, viewport, "/admin/")
    link = admin_page.locator("#django-jobs-dashboard-link th a")
    lines = link.evaluate("a => a.getClientRects().length")
    line_height = link.evaluate("a => parseFloat(getComputedStyle(a).lineHeight) || 16")
    assert lines == 1
    assert link.bounding_box()["height"] <= line_height * 1.5
