import json
from io import StringIO

import pytest
from django.core.management import call_command

from django_jobs.models import Job, Schedule
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db


def listjobs(*args):
    out = StringIO()
    call_command("listjobs", *args, stdout=out)
    return out.getvalue()


def test_listjobs__table_grouped_by_app():
    text = listjobs()
    assert "\ntestapp\n" in text
    assert "tests.testapp.jobs.add" in text
    assert "cron 0 18 * * 1-5 (Europe/Paris)" in text
    assert "every 3600 s" in text


def test_listjobs__json_has_every_field():
    rows = {
        (r["name"], r["version"]): r
        for r in json.loads(listjobs("--format", "json"))["definitions"]
    }
    digest = rows[("tests.testapp.jobs.daily_digest", 1)]
    assert digest["kind"] == "function" and digest["schedule"].startswith("cron")
    assert digest["next_run"] is not None
    purge = rows[("tests.testapp.jobs.PurgeSessions", 1)]
    assert (purge["kind"], purge["timeout"]) == ("recurring", 30)
    assert rows[("tests.testapp.jobs.always_fails", 1)]["dead_letter"] is True
    assert rows[("tests.testapp.jobs.always_fails", 1)]["run_mode"] == "process"
    assert rows[("tests.testapp.jobs.async_add", 1)]["run_mode"] == "async"
    assert rows[("tests.testapp.mode_jobs.thread_nap", 1)]["run_mode"] == "thread"
    assert ("send_email", 2) in rows and ("send_email", 1) in rows


def test_listjobs__stored_next_run_wins():
    from datetime import datetime, timezone

    when = datetime(2030, 1, 1, tzinfo=timezone.utc)
    Schedule.objects.create(
        name="tests.testapp.jobs.every_ten_minutes",
        kind="interval",
        interval_seconds=600,
        next_run_at=when,
    )
    rows = {r["name"]: r for r in json.loads(listjobs("--format", "json"))["definitions"]}
    assert rows["tests.testapp.jobs.every_ten_minutes"]["next_run"] == when.isoformat()


def test_listjobs__stats_counts_per_state_and_queue():
    defs.add.enqueue(1, 1)
    defs.add.enqueue(1, 1)
    defs.send_email.using(queue="bulk").enqueue("a@x")
    payload = json.loads(listjobs("--format", "json", "--stats"))
    rows = {(r["name"], r["version"]): r for r in payload["definitions"]}
    assert rows[("tests.testapp.jobs.add", 1)]["jobs"] == {"queued": 2}
    assert payload["queues"] == {"default": {"queued": 2}, "bulk": {"queued": 1}}
    assert "queues" in listjobs("--stats")


def test_listjobs__bad_format_is_a_clear_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="invalid choice: 'xml'"):
        call_command("listjobs", "--format", "xml")


def test_listjobs__stats_per_version():
    Job.enqueue("send_email", args=["a@x"], version=1)
    Job.enqueue("send_email", args=["a@x"], version=2)
    Job.enqueue("send_email", args=["b@x"], version=2)
    payload = json.loads(listjobs("--format", "json", "--stats"))
    rows = {(r["name"], r["version"]): r for r in payload["definitions"]}
    assert rows[("send_email", 1)]["jobs"] == {"queued": 1}
    assert rows[("send_email", 2)]["jobs"] == {"queued": 2}
