"""runjobs at scale and with several workers: many processes drain a backlog once each job;
recurring ticks are enqueued once across workers."""

import os
import signal
import threading
import time
from collections import Counter

import pytest

from django_jobs.models import Job, JobAttempt
from tests.acceptance.conftest import wait_for
from tests.testapp import jobs as defs
from tests.testapp.models import Note

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


def _read_output(process):
    """Read a started worker's output in the background (a full pipe would block it)."""
    lines: list[str] = []
    thread = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    thread.start()
    return lines


@pytest.mark.postgres_only
def test_runjobs__three_workers_drain_3000_jobs_each_once(workers):
    jobs = defs.record_run.enqueue_many([[f"t{i}"] for i in range(3000)])
    assert len(jobs) == 3000
    started = time.monotonic()
    processes = [workers.start("--concurrency", "2", "--burst") for _ in range(3)]
    outputs = [_read_output(p) for p in processes]
    codes = [p.wait(timeout=240) for p in processes]
    elapsed = time.monotonic() - started
    print(f"3 workers x 2 processes drained 3000 jobs in {elapsed:.1f} s")
    assert codes == [0, 0, 0], outputs
    assert Job.objects.filter(name=defs.record_run.name, state="succeeded").count() == 3000
    assert Note.objects.count() == 3000
    tags = Counter(Note.objects.values_list("text", flat=True))
    assert set(tags) == {f"t{i}" for i in range(3000)}
    assert set(tags.values()) == {1}
    assert JobAttempt.objects.filter(job__name=defs.record_run.name).count() == 3000


def _two_recurring_workers_for_four_seconds(workers):
    processes = [workers.start("--concurrency", "1", recurring=True) for _ in range(2)]
    outputs = [_read_output(p) for p in processes]
    wait_for(lambda: Job.objects.filter(name=defs.every_second.name).exists(), timeout=60)
    time.sleep(4)
    for process in processes:
        os.kill(process.pid, signal.SIGTERM)
    codes = [p.wait(timeout=60) for p in processes]
    return codes, outputs


def test_recurring__two_workers_enqueue_each_interval_tick_once(workers):
    codes, outputs = _two_recurring_workers_for_four_seconds(workers)
    assert codes == [0, 0], outputs
    ticks = list(
        Job.objects.filter(name="tests.testapp.jobs.every_second").values_list(
            "scheduled_for", flat=True
        )
    )
    assert None not in ticks
    assert len(ticks) == len(set(ticks)), sorted(ticks)
    assert 2 <= len(ticks) <= 8, sorted(ticks)


def test_recurring__two_workers_run_a_recurring_job_class_once(workers):
    codes, outputs = _two_recurring_workers_for_four_seconds(workers)
    assert codes == [0, 0], outputs
    runs = Job.objects.filter(name="tests.testapp.jobs.PurgeSessions")
    assert runs.count() == 1
    assert runs.get().state == "succeeded"
    assert JobAttempt.objects.filter(job__name="tests.testapp.jobs.PurgeSessions").count() == 1
