"""Limits with real worker processes: sampled counts never exceed a limit."""

import os
import signal
import time
from collections import Counter

import pytest

from django_jobs.models import Job, Queue, Role
from tests.acceptance.conftest import wait_for
from tests.testapp import jobs as defs

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


def stop(*processes):
    for process in processes:
        os.kill(process.pid, signal.SIGTERM)
        os.kill(process.pid, signal.SIGINT)
    for process in processes:
        assert process.wait(timeout=30) == 0


def tree(worker_id):
    return worker_id.rsplit("/", 1)[0]


def test_limits__sampled_counts_never_exceed(workers):
    defs.capped_cluster.enqueue_many([[0.15]] * 16)
    defs.capped_per_worker.enqueue_many([[0.15]] * 10)
    for i in range(12):
        defs.nap.using(group_key=f"g{i % 3}").enqueue(0.1)
    defs.nap.using(queue="one-at-a-time").enqueue_many([[0.15]] * 8)
    Queue.objects.filter(name="one-at-a-time").update(max_concurrent=1)
    first = workers.start("--concurrency", "2")
    second = workers.start("--concurrency", "2")
    worst: Counter = Counter()
    deadline = time.monotonic() + 120
    while Job.objects.exclude(state="succeeded").exists() and time.monotonic() < deadline:
        running = list(
            Job.objects.filter(state="running").values_list("name", "worker", "group_key", "queue")
        )
        worst["cluster"] = max(
            worst["cluster"], sum(n.endswith("capped_cluster") for n, *_ in running)
        )
        per_tree = Counter(tree(w) for n, w, *_ in running if n.endswith("capped_per_worker"))
        worst["per_worker"] = max([worst["per_worker"], *per_tree.values()])
        groups = Counter(g for _, _, g, _ in running if g)
        worst["group"] = max([worst["group"], *groups.values()])
        queue = Counter(tree(w) for _, w, _, q in running if q == "one-at-a-time")
        worst["queue"] = max([worst["queue"], *queue.values()])
        time.sleep(0.02)
    assert not Job.objects.exclude(state="succeeded").exists()
    stop(first, second)
    print(f"\nworst sampled counts: {dict(worst)}")
    assert worst["cluster"] <= 2
    assert worst["per_worker"] <= 1
    assert worst["group"] <= 1
    assert worst["queue"] <= 1


def test_paused_queue__no_claims_until_resumed(workers):
    defs.nap.using(queue="held").enqueue_many([[0]] * 3)
    Queue.objects.filter(name="held").update(paused=True)
    other = defs.add.enqueue(1, 1)
    process = workers.start("--concurrency", "1")
    wait_for(lambda: Job.objects.get(pk=other.pk).state == "succeeded")
    time.sleep(1)
    assert not Job.objects.filter(queue="held").exclude(state="queued").exists()
    Queue.objects.filter(name="held").update(paused=False)
    wait_for(lambda: Job.objects.filter(queue="held", state="succeeded").count() == 3)
    stop(process)


def test_role__edits_picked_up_without_restart(workers):
    defs.nap.using(queue="ra").enqueue(0)
    later = defs.nap.using(queue="rb").enqueue(0)
    role = Role.objects.create(name="mixed")
    role.queues.set([Queue.objects.get(name="ra")])
    process = workers.start("--concurrency", "1", "--role", "mixed")
    wait_for(lambda: Job.objects.filter(queue="ra", state="succeeded").exists())
    time.sleep(1)
    assert Job.objects.get(pk=later.pk).state == "queued"
    role.queues.add(Queue.objects.get(name="rb"))
    wait_for(lambda: Job.objects.get(pk=later.pk).state == "succeeded", timeout=15)
    stop(process)


@pytest.mark.postgres_only
def test_rate_limit__twenty_per_second_held_across_workers(workers):
    defs.nap.using(queue="metered").enqueue_many([[0]] * 700)
    Queue.objects.filter(name="metered").update(
        rate_numerator=20, rate_denominator=1, rate_period="second"
    )
    first = workers.start("--concurrency", "2")
    second = workers.start("--concurrency", "2")
    wait_for(lambda: Job.objects.filter(queue="metered").exclude(started_at=None).exists())
    start = (
        Job.objects.filter(queue="metered")
        .exclude(started_at=None)
        .order_by("started_at")
        .first()
        .started_at
    )
    time.sleep(21)
    stop(first, second)
    from datetime import timedelta

    window = Job.objects.filter(
        queue="metered", started_at__gte=start, started_at__lt=start + timedelta(seconds=20)
    ).count()
    print(f"\nstarted in 20 s at 20/s: {window} (target 400 +- 10 %, burst 20 included)")
    assert 360 <= window <= 440
