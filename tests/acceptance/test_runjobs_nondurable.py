"""Non-durable recurring runs with real workers: two ``runjobs`` processes take an interval
schedule's ticks (every second, each run taking 1.5 s), and each tick is run once, by one of
them, with no Job row."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter

import pytest

from django_jobs.models import Job, JobAttempt, Schedule
from tests.acceptance.conftest import wait_for
from tests.testapp.jobs import NONDURABLE_LOG_ENV, NONDURABLE_STUCK_ENV

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]

NAME = "tests.testapp.jobs.nondurable_tick"


def _read_output(process):
    """Read a started worker's output in the background (a full pipe would block it)."""
    lines: list[str] = []
    thread = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    thread.start()
    return lines


def _lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_nondurable__two_workers_run_each_tick_once_without_job_rows(
    workers, tmp_path, monkeypatch
):
    log = tmp_path / "ticks.log"
    monkeypatch.setenv(NONDURABLE_LOG_ENV, str(log))  # the workers register the definition
    processes = [workers.start("--concurrency", "1", recurring=True) for _ in range(2)]
    outputs = [_read_output(p) for p in processes]
    wait_for(lambda: bool(_lines(log)), timeout=60)
    time.sleep(5)
    for process in processes:
        os.kill(process.pid, signal.SIGTERM)
    codes = [p.wait(timeout=60) for p in processes]
    assert codes == [0, 0], outputs
    lines = _lines(log)
    ticks = Counter(line.split()[0] for line in lines)
    assert [tick for tick, runs in ticks.items() if runs > 1] == [], lines
    assert 3 <= len(ticks) <= 9, lines
    # While one process runs a tick, the next is due: the other process takes it.
    assert len({line.split()[1] for line in lines}) == 2, lines
    assert not Job.objects.filter(name=NAME).exists()
    assert not JobAttempt.objects.filter(job__name=NAME).exists()
    schedule = Schedule.objects.get(name=NAME)
    assert schedule.durable is False
    assert schedule.runs == len(lines)  # every tick taken was run, and booked
    assert (schedule.last_outcome, schedule.consecutive_failures) == ("succeeded", 0)


def test_nondurable__a_run_that_ignores_its_timeout_is_stopped_hard(workers, monkeypatch):
    monkeypatch.setenv(NONDURABLE_STUCK_ENV, "1")
    monkeypatch.setenv("DJANGO_JOBS_TIMEOUT_GRACE", "1")
    process = workers.start("--concurrency", "1", recurring=True, log=True)
    output = _read_output(process)
    wait_for(lambda: any("worker.process_killed" in line for line in output), timeout=60)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=60) == 0, output
    (killed,) = [line for line in output if "worker.process_killed" in line]
    assert "outcome=timeout" in killed, output
    name = "tests.testapp.jobs.nondurable_stuck"
    assert not Job.objects.filter(name=name).exists()
    assert Schedule.objects.get(name=name).last_outcome in ("", None)  # lost, not booked
