"""The control room's layout on a laptop (1400 x 900) and on a phone (390 x 844).

Every list fits its area at 1400 px with realistic rows; on a phone the dashboard does not
widen the page and its chart stays readable; the index's dashboard link stays on one line.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from django_jobs.models import Job, JobAttempt, Outcome, Queue, RatePeriod, Role, Schedule
from django_jobs.worker.recurring import sync_schedules
from tests.browser import support

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"laptop": LAPTOP, "phone": PHONE}
CHANGELISTS = ["job", "deadletter", "worker", "schedule", "queue", "role"]
#: The smallest font size, in CSS pixels, that the chart's labels may be drawn at.
READABLE_PX = 10
HOST = "ip-10-0-12-34.eu-west-1.compute.internal"


@pytest.fixture
def rows() -> None:
    """Rows like a production site's: every state, long names, resubmitted dead letters."""
    support.succeeded_job(), support.queued_job(), support.scheduled_job()
    support.cancelled_job()
    running = support.running_job(worker=f"{HOST}:4242/1")
    Job.objects.filter(pk=running.pk).update(progress=0.42)
    support.running_job(worker=f"{HOST}:4242/2").cancel()
    Job.objects.create(
        name="billing.tasks.send_invoice_reminders", version=2, queue="notifications"
    )
    letter = support.dead_letter(
        "SMTPServerDisconnected: connection to smtp.example.com:587 closed after 30 seconds "
        "while sending the monthly invoice reminder to every customer of the account"
    )
    letter.resubmit()
    support.dead_letter()
    supervisor = support.worker(f"{HOST}:4242")
    support.worker(f"{HOST}:4242/1", supervisor=supervisor)
    support.worker(f"{HOST}:4242/2", supervisor=supervisor, alive=False)
    for name in ("notifications", "reports"):
        Queue.objects.get_or_create(name=name)
    Queue.objects.filter(name="mail").update(
        rate_numerator=30, rate_denominator=5, rate_period=RatePeriod.MINUTE, max_concurrent=4
    )
    role = Role.objects.create(name="reporting", description="Nightly reports and exports")
    role.queues.set(Queue.objects.all())
    sync_schedules()
    Schedule.objects.update(
        runs=1234, failures=56, consecutive_failures=3, last_outcome="succeeded"
    )
    Schedule.objects.filter(name__endswith="every_second").update(
        last_outcome="cancelled", durable=False
    )


@pytest.fixture
def activity() -> None:
    """Live workers, queues and an hour of attempts, for the dashboard."""
    job = support.succeeded_job()
    support.queued_job(), support.dead_letter()
    supervisor = support.worker(f"{HOST}:4242")
    support.worker(f"{HOST}:4242/1", supervisor=supervisor)
    now = timezone.now()
    JobAttempt.objects.bulk_create(
        JobAttempt(
            job=job,
            number=10 + i,
            outcome=Outcome.SUCCEEDED,
            started_at=now - timedelta(minutes=5 * (i % 12)),
            finished_at=now - timedelta(minutes=5 * (i % 12)),
        )
        for i in range(1500)
    )


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


@pytest.mark.parametrize("model", CHANGELISTS)
def test_browser_changelist__fits_its_area_at_1400(admin_page, rows, model):
    at(admin_page, LAPTOP, f"/admin/django_jobs/{model}/")
    assert admin_page.locator("#result_list tbody tr").count() >= 1
    widths = admin_page.evaluate(
        """() => {
            const area = document.querySelector('#changelist-form .results');
            const table = document.querySelector('#result_list');
            return {table: table.scrollWidth, area: area.clientWidth,
                    page: document.documentElement.scrollWidth, window: innerWidth};
        }"""
    )
    assert widths["table"] <= widths["area"], widths
    assert widths["page"] <= widths["window"], widths


def test_browser_dashboard__tables_never_widen_a_phone_page(admin_page, activity):
    at(admin_page, PHONE, "/admin/django_jobs/job/dashboard/")
    widths = admin_page.evaluate(
        "() => ({page: document.documentElement.scrollWidth, window: innerWidth})"
    )
    assert widths["page"] <= widths["window"], widths
    for table in admin_page.locator("table.dj-table").all():
        box = table.evaluate(
            """t => {
                let area = t.parentElement;
                while (area && getComputedStyle(area).overflowX === 'visible') {
                    area = area.parentElement;
                }
                return {right: Math.min(t.getBoundingClientRect().right,
                                        area ? area.getBoundingClientRect().right : Infinity)};
            }"""
        )
        assert box["right"] <= PHONE["width"], box


def label_boxes(page: Any) -> list[dict[str, float]]:
    """The chart's axis labels as drawn: their boxes and font size in CSS pixels."""
    return page.locator("#dj-chart text.dj-tick").evaluate_all(
        """labels => labels.map(label => {
            const box = label.getBoundingClientRect();
            const svg = label.ownerSVGElement;
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return {left: box.left, right: box.right, top: box.top, bottom: box.bottom,
                    px: parseFloat(getComputedStyle(label).fontSize) * scale,
                    svgLeft: svg.getBoundingClientRect().left, text: label.textContent};
        })"""
    )


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_browser_dashboard__chart_labels_readable(admin_page, activity, viewport):
    at(admin_page, viewport, "/admin/django_jobs/job/dashboard/")
    labels = label_boxes(admin_page)
    assert len(labels) >= 8
    assert min(label["px"] for label in labels) >= READABLE_PX, labels
    assert all(label["left"] >= label["svgLeft"] for label in labels), labels
    for i, one in enumerate(labels):
        for other in labels[i + 1 :]:
            apart = (
                one["right"] <= other["left"]
                or other["right"] <= one["left"]
                or one["bottom"] <= other["top"]
                or other["bottom"] <= one["top"]
            )
            assert apart, (one, other)
