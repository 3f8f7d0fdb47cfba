"""The supervisor's hard stops, with a stand-in process: how they are logged and counted."""

import logging
import multiprocessing
import time

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from django_jobs import db
from django_jobs.models import Job, JobAttempt
from django_jobs.worker import maintenance
from django_jobs.worker.loop import LoopOptions
from django_jobs.worker.protocol import Slot
from django_jobs.worker.supervisor import Child, Supervisor
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = "host.1.abc/1"
fork = multiprocessing.get_context("fork")


def running_child(job: Job) -> Child:
    """A process that sleeps, standing in for a worker process past the job's deadline."""
    slot = Slot(
        deadline=fork.RawArray("d", [time.time() - 1]),
        processed=fork.Value("i", 0),
        failed=fork.Value("i", 0),
        current=fork.RawArray("c", 16),
        cancels=fork.Value("i", 0),
    )
    slot.set_current(job.pk)
    process = fork.Process(target=time.sleep, args=(30,))
    process.start()
    return Child(WORKER, process, slot)


def test_supervisor__hard_stop_is_a_warning_counted_in_the_summary(caplog):
    defs.add.enqueue(1, 1)
    ops = db.for_connection(connection)
    (job,) = ops.claim_jobs(connection, queues=None, limit=1, worker=WORKER, now=timezone.now())
    child = running_child(job)
    supervisor = Supervisor(LoopOptions(), concurrency=1)
    supervisor.children = [child]
    try:
        with caplog.at_level(logging.INFO, logger="django_jobs"):
            supervisor.watchdog.enforce_deadlines()
            supervisor.reap()
            supervisor.summary()
    finally:
        if child.process.is_alive():
            child.process.kill()
    events = {r.event: r for r in caplog.records if hasattr(r, "event")}
    assert "worker.process_died" not in events
    killed = events["worker.process_killed"]
    assert killed.levelno == logging.WARNING
    assert (killed.jobs["job"], killed.jobs["outcome"]) == (job.pk, "timeout")
    assert events["worker.summary"].jobs["hard_stops"] == 1
    assert JobAttempt.objects.get(job=job).outcome == "timeout"
    assert supervisor.children == [] and len(supervisor.pending) == 1  # to be replaced


def test_supervisor__a_hard_stop_while_the_database_is_away_still_retires_the_process(
    monkeypatch,
):
    defs.add.enqueue(1, 1)
    ops = db.for_connection(connection)
    (job,) = ops.claim_jobs(connection, queues=None, limit=1, worker=WORKER, now=timezone.now())
    child = running_child(job)
    supervisor = Supervisor(LoopOptions(), concurrency=1)
    supervisor.children = [child]

    def database_away(*args, **kwargs):
        raise OperationalError("the database is away")

    monkeypatch.setattr(maintenance, "end_process_jobs", database_away)
    try:
        with pytest.raises(OperationalError):  # supervise() logs it and goes on
            supervisor.watchdog.enforce_deadlines()
    finally:
        if child.process.is_alive():
            child.process.kill()
    # Out of the tree, so a stopping supervisor can end; the job stays running for rescue.
    assert supervisor.children == []
    assert Job.objects.get(pk=job.pk).state == "running"
