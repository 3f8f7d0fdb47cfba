"""Test support shared by the browser tests and the admin integration tests.

Rows in every state, made the way production makes them (enqueue, run, claim, fail), a
helper that runs an admin action through Django's test client, and a reader of the cells of a
rendered admin page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_jobs.models import DeadLetter, Job, Worker, WorkerState
from django_jobs.testing import run_inline
from django_jobs.worker.record import claim_one
from tests.testapp import jobs as defs

#: Test users are created per test: hashing their password the production way takes 0.3 s.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def succeeded_job(a: int = 1, b: int = 2) -> Job:
    job = defs.add.enqueue(a, b)
    run_inline([job])
    return Job.objects.get(pk=job.pk)


def queued_job(to: str = "a@example.com") -> Job:
    return defs.send_email.enqueue(to)


def scheduled_job(delay: timedelta = timedelta(hours=1)) -> Job:
    return defs.add.using(delay=delay).enqueue(2, 3)


def running_job(worker: str = "host:1/1") -> Job:
    job = defs.add.enqueue(3, 4)
    assert claim_one(job, worker)
    return job


def cancelled_job() -> Job:
    job = defs.add.enqueue(5, 6)
    job.cancel()
    return job


def dead_letter(message: str = "boom") -> DeadLetter:
    """A job of ``always_fails`` run to the end: 3 failed attempts, then a dead letter."""
    job = defs.always_fails.enqueue(message)
    run_inline([job])
    return DeadLetter.objects.select_related("job").get(job_id=job.pk)


def worker(pk: str = "host:1", *, alive: bool = True, supervisor: Worker | None = None) -> Worker:
    """A Worker row; a dead one stopped heartbeating an hour ago."""
    beat = timezone.now() - (timedelta(0) if alive else timedelta(hours=1))
    return Worker.objects.create(
        id=pk,
        hostname="host",
        pid=100,
        supervisor=supervisor,
        concurrency=2,
        state=WorkerState.RUNNING,
        heartbeat_at=beat,
        queues=["default", "mail"],
    )


def post_action(
    client: Client, model: str, action: str, rows: Iterable[Any], **extra: Any
) -> HttpResponse:
    """POST an admin action on ``rows`` from the changelist of ``model``; follow redirects."""
    url = reverse(f"admin:django_jobs_{model}_changelist")
    data = {"action": action, "_selected_action": [str(r.pk) for r in rows], "index": 0, **extra}
    return client.post(url, data, follow=True)


def messages_of(response: HttpResponse) -> list[str]:
    """The admin messages shown by a (followed) response."""
    return [str(m) for m in get_messages(response.wsgi_request)]


@dataclass
class Cell:
    """A table cell or a read-only value of an admin page: its text and the tooltips in it."""

    tag: str
    text: str = ""
    titles: list[str] = field(default_factory=list)


class _CellReader(HTMLParser):
    """Collects every ``td``, ``th``, read-only field value and dashboard number of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[Cell] = []
        self.open: list[tuple[str, int, Cell]] = []
        self.depth: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "wbr", "input", "img", "hr", "meta", "link"):
            return
        self.depth[tag] = self.depth.get(tag, 0) + 1
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag in ("td", "th") or "readonly" in classes or "dj-number" in classes:
            self.open.append((tag, self.depth[tag], Cell(tag)))
        if found.get("title"):
            for _, _, cell in self.open:
                cell.titles.append(str(found["title"]))

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1][:2] == (tag, self.depth.get(tag)):
            cell = self.open.pop()[2]
            cell.text = " ".join(cell.text.split())
            self.cells.append(cell)
        self.depth[tag] = self.depth.get(tag, 1) - 1

    def handle_data(self, data: str) -> None:
        for _, _, cell in self.open:
            cell.text += data


def cells(html: str | bytes) -> list[Cell]:
    """The cells of a rendered page (nested cells are listed on their own and in their parent)."""
    reader = _CellReader()
    reader.feed(html.decode() if isinstance(html, bytes) else html)
    reader.close()
    return reader.cells
