"""--burst runs what can be claimed now, then exits 0: jobs held back do not keep it alive."""

import pytest
from django.utils import timezone

from django_jobs.models import Job, Queue, Role
from tests.testapp import jobs as defs

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


def run_elsewhere(job):
    """Make ``job`` look like it runs on another worker (which this one never rescues)."""
    Job.objects.filter(pk=job.pk).update(
        state="running", worker="elsewhere.1.abcdef/1", started_at=timezone.now(), attempts=1
    )


def test_burst__exits_while_a_queue_is_paused(workers):
    defs.nap.using(queue="held").enqueue_many([[0]] * 3)
    Queue.objects.filter(name="held").update(paused=True)
    ready = defs.add.enqueue(1, 1)
    done = workers.run("--burst", "--concurrency", "2", timeout=30)
    assert done.returncode == 0, done.stdout
    assert Job.objects.get(pk=ready.pk).state == "succeeded"
    assert Job.objects.filter(queue="held", state="queued").count() == 3
    assert "burst done: 1 job run, 3 left queued (paused: 3)" in done.stdout


def test_burst__exits_when_the_role_queue_is_paused(workers):
    defs.nap.using(queue="held").enqueue_many([[0]] * 2)
    Queue.objects.filter(name="held").update(paused=True)
    role = Role.objects.create(name="held-only")
    role.queues.set([Queue.objects.get(name="held")])
    done = workers.run("--burst", "--role", "held-only", "--concurrency", "1", timeout=30)
    assert done.returncode == 0, done.stdout
    assert Job.objects.filter(queue="held", state="queued").count() == 2
    assert "burst done: 0 jobs run, 2 left queued (paused: 2)" in done.stdout


def test_burst__jobs_held_back_by_limits_do_not_keep_it_alive(workers):
    defs.nap.using(queue="metered").enqueue_many([[0]] * 3)  # 1 per hour: one runs
    Queue.objects.filter(name="metered").update(
        rate_numerator=1, rate_denominator=1, rate_period="hour"
    )
    run_elsewhere(defs.nap.using(group_key="g").enqueue(0))
    defs.nap.using(group_key="g").enqueue_many([[0]] * 2)
    for _ in range(2):
        run_elsewhere(defs.capped_cluster.enqueue(0))
    defs.capped_cluster.enqueue_many([[0]] * 4)
    free = defs.add.enqueue(2, 2)
    done = workers.run("--burst", "--concurrency", "2", timeout=30)
    assert done.returncode == 0, done.stdout
    assert Job.objects.get(pk=free.pk).state == "succeeded"
    assert Job.objects.filter(queue="metered", state="succeeded").count() == 1
    assert (
        "burst done: 2 jobs run, 8 left queued (rate limited: 2, group busy: 2, capped: 4)"
        in done.stdout
    )


def test_burst__retry_at_once_is_run_before_exiting(workers):
    job = defs.always_fails.enqueue()  # retry_delay=None: each retry is ready at once
    done = workers.run("--burst", "--concurrency", "1", timeout=30)
    assert done.returncode == 0, done.stdout
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("failed", 3)
    assert "0 left queued" in done.stdout
