"""Chaos: workers are killed (-9) at random while they drain jobs, and PostgreSQL restarts.

Sizes come from the environment, so the same test runs bigger by hand::

    CHAOS_JOBS=20000 CHAOS_SECONDS=120 CHAOS_KILL_EVERY=1 python runtests.py --db postgres \\
        tests/acceptance/test_chaos.py -s

At the end every job has succeeded at least once, none is lost, and the jobs that ran twice
are no more than the jobs that were running in the processes at the moments they were killed.
"""

from __future__ import annotations

import os
import random
import signal
import time
from datetime import datetime, timezone

import pytest
from django.db.models import Count

from django_jobs.models import Job, JobAttempt, Worker
from tests.acceptance.conftest import restart_postgres, wait_for
from tests.testapp import jobs as defs
from tests.testapp.models import Note

pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
]

JOBS = int(os.environ.get("CHAOS_JOBS", "3000"))
SECONDS = float(os.environ.get("CHAOS_SECONDS", "30"))
KILL_EVERY = float(os.environ.get("CHAOS_KILL_EVERY", "2"))
WORKERS, PROCESSES = 3, 2


class Chaos:
    """Keeps three workers running and kills a process or a whole worker every few seconds."""

    def __init__(self, workers) -> None:
        self.workers = workers
        self.running = [self.start() for _ in range(WORKERS)]
        self.kills: list[tuple[str, datetime, list[str], int]] = []  # kind, when, ids, jobs

    def start(self):
        return self.workers.start("--concurrency", str(PROCESSES))

    def children_of(self, process) -> list[Worker]:
        return list(Worker.objects.filter(supervisor__pid=process.pid, state="running"))

    def kill_one(self) -> None:
        victim = random.choice(self.running)
        children = self.children_of(victim)
        if random.random() < 0.5 and children:
            child = random.choice(children)
            ids = [child.pk]
            busy = Job.objects.filter(state="running", worker=child.pk).count()
            os.kill(child.pid, signal.SIGKILL)
            self.kills.append(("process", datetime.now(timezone.utc), ids, busy))
            return
        ids = [c.pk for c in children]
        busy = Job.objects.filter(state="running", worker__in=ids).count()
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        self.kills.append(("worker", datetime.now(timezone.utc), ids, busy))
        self.running.remove(victim)
        self.running.append(self.start())

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
                os.kill(process.pid, signal.SIGINT)
        for process in self.running:
            process.wait(timeout=60)


def rescue_delays(kills) -> list[float]:
    """Seconds from each kill to the recording of the attempts it cut short."""
    killed_at = {wid: when for _, when, ids, _ in kills for wid in ids}
    delays = []
    for attempt in JobAttempt.objects.filter(outcome="lost", worker__in=list(killed_at)):
        delays.append((attempt.finished_at - killed_at[attempt.worker]).total_seconds())
    return delays


def test_chaos__kill_9_and_a_database_restart_lose_no_job(workers, monkeypatch):
    monkeypatch.setenv("DJANGO_JOBS_WORKER_TIMEOUT", "3")
    monkeypatch.setenv("DJANGO_JOBS_HEARTBEAT_INTERVAL", "0.5")
    monkeypatch.setenv("DJANGO_JOBS_MAINTENANCE_INTERVAL", "1")
    jobs = defs.chaos_step.enqueue_many([[f"c{i}", random.randint(5, 50)] for i in range(JOBS)])
    chaos = Chaos(workers)
    started = time.monotonic()
    restarted = False
    while time.monotonic() - started < SECONDS:
        time.sleep(random.uniform(0.5, 1.5) * KILL_EVERY)
        if not restarted and time.monotonic() - started > SECONDS / 2:
            restarted = restart_postgres() or True
            continue
        chaos.kill_one()
    ids = [j.pk for j in jobs]
    wait_for(
        lambda: Job.objects.filter(pk__in=ids, state="succeeded").count() == JOBS,
        timeout=max(180, JOBS / 20),
    )
    chaos.stop()

    runs = dict(Note.objects.values_list("text").annotate(n=Count("id")))
    duplicates = sum(n - 1 for n in runs.values())
    busy_at_kills = sum(busy for *_, busy in chaos.kills)
    delays = rescue_delays(chaos.kills)
    print(
        f"\nchaos: {JOBS} jobs, {len(chaos.kills)} kills "
        f"({sum(k[0] == 'worker' for k in chaos.kills)} whole workers), "
        f"database restarted: {bool(os.environ.get('DJANGO_JOBS_TEST_PG_RESTART'))}\n"
        f"  {'succeeded':<28}{Job.objects.filter(pk__in=ids, state='succeeded').count()}\n"
        f"  {'ran at least once':<28}{len(runs)}\n"
        f"  {'ran twice (duplicates)':<28}{duplicates}\n"
        f"  {'running at the kills':<28}{busy_at_kills}\n"
        f"  {'attempts lost and rescued':<28}{len(delays)}\n"
        f"  {'longest rescue delay':<28}{max(delays, default=0):.1f} s\n"
        f"  {'elapsed':<28}{time.monotonic() - started:.1f} s"
    )
    assert len(runs) == JOBS  # every job ran
    assert duplicates <= busy_at_kills
