"""Maintenance services: stage due jobs, rescue dead workers' jobs, prune expired rows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from django_jobs.models import Job, JobAttempt, Worker
from django_jobs.worker import maintenance
from django_jobs.worker.record import claim_one
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db(transaction=True)


def test_stage_due__moves_only_due_jobs():
    due = defs.add.using(delay=60).enqueue(1, 1)
    later = defs.add.using(delay=3600).enqueue(1, 1)
    assert maintenance.stage_due(timezone.now() + timedelta(seconds=61)) == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.state, later.state) == ("queued", "scheduled")


def _running_on(worker_id, job):
    Worker.objects.create(
        id=worker_id, hostname="h", pid=1, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert claim_one(job, worker_id)


def test_rescue__requeues_jobs_of_a_silent_worker():
    job = defs.add.enqueue(1, 1)
    _running_on("dead-1", job)
    assert maintenance.rescue_dead_workers() == 1
    job.refresh_from_db()
    assert (job.state, job.attempts, job.worker) == ("queued", 1, None)
    attempt = JobAttempt.objects.get(job=job)
    assert attempt.outcome == "lost" and "stopped responding" in attempt.error_message
    assert Worker.objects.get(pk="dead-1").state == "dead"


def test_rescue__fails_when_attempts_are_exhausted():
    job = defs.calls_exit.enqueue()  # max_retries=0
    _running_on("dead-2", job)
    maintenance.rescue_dead_workers()
    job.refresh_from_db()
    assert job.state == "failed"


def test_rescue__leaves_live_workers_alone():
    job = defs.add.enqueue(1, 1)
    Worker.objects.create(id="alive", hostname="h", pid=1)
    assert claim_one(job, "alive")
    assert maintenance.rescue_dead_workers() == 0
    job.refresh_from_db()
    assert job.state == "running"


def test_rescue__only_once():
    job = defs.add.enqueue(1, 1)
    _running_on("dead-3", job)
    maintenance.rescue_dead_workers()
    assert maintenance.rescue_dead_workers() == 0
    assert JobAttempt.objects.filter(job=job).count() == 1


def test_prune__deletes_expired_in_batches(settings):
    settings.DJANGO_JOBS_PRUNE_BATCH_SIZE = 2
    jobs = defs.add.enqueue_many([[i, i] for i in range(5)])
    Job.objects.filter(pk__in=[j.pk for j in jobs[:3]]).update(
        state="succeeded", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert maintenance.prune_expired() == 2
    assert maintenance.prune_expired() == 1
    assert maintenance.prune_expired() == 0
    assert Job.objects.count() == 2
