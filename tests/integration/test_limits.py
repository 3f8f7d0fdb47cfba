"""Limits in the claim: paused queues, per-worker and cluster caps, groups, rate tokens."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from django_jobs import db
from django_jobs.models import Job, Queue
from django_jobs.worker.limits import LimitConfig, Limits, take_rate_tokens
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db


def claim(worker="sup/1", queues=None, limit=10):
    config = LimitConfig(worker.rsplit("/", 1)[0] + "/%", "default")
    config.refresh()
    return db.for_connection(connection).claim_jobs(
        connection,
        queues=queues,
        limit=limit,
        worker=worker,
        now=timezone.now(),
        limits=config.limits(set()),
    )


def test_paused_queue__gets_no_claims():
    defs.nap.using(queue="slow").enqueue()
    Queue.objects.filter(name="slow").update(paused=True)
    assert claim() == []
    Queue.objects.filter(name="slow").update(paused=False)
    assert len(claim()) == 1


def test_queue_max_concurrent__per_worker():
    defs.nap.using(queue="q1").enqueue_many([[0.1]] * 3)
    Queue.objects.filter(name="q1").update(max_concurrent=1)
    assert len(claim(worker="a/1", limit=1)) == 1
    assert claim(worker="a/2", limit=1) == []  # same worker (process tree), limit reached
    assert len(claim(worker="b/1", limit=1)) == 1  # another worker has its own allowance


def test_queue_limits__each_served_queue_its_own():
    defs.nap.using(queue="held", priority=9).enqueue()
    defs.nap.using(queue="one", priority=5).enqueue_many([[0.1]] * 3)
    free = defs.nap.using(queue="free").enqueue_many([[0.1]] * 2)
    Queue.objects.filter(name="held").update(paused=True)
    Queue.objects.filter(name="one").update(max_concurrent=1)
    for queues in (None, ["free", "held", "one"]):
        Job.objects.filter(state="running").update(state="queued", attempts=0)
        claimed = []  # one job per statement, as the worker claims while limits are in play
        while batch := claim(queues=queues, limit=1):
            claimed.extend(batch)
        assert [j.queue for j in claimed] == ["one", "free", "free"]
        assert {j.pk for j in claimed[1:]} == {j.pk for j in free}


def test_definition_max_running__across_the_cluster():
    defs.capped_cluster.enqueue_many([[0.1]] * 4)
    assert len(claim(worker="a/1", limit=1)) == 1
    assert len(claim(worker="b/1", limit=1)) == 1
    assert claim(worker="c/1", limit=1) == []


def test_definition_max_concurrent__per_worker():
    defs.capped_per_worker.enqueue_many([[0.1]] * 3)
    assert len(claim(worker="a/1", limit=1)) == 1
    assert claim(worker="a/2", limit=1) == []
    assert len(claim(worker="b/1", limit=1)) == 1


def test_group_key__one_running_per_group_and_null_not_blocked():
    defs.nap.using(group_key="g1").enqueue()
    defs.nap.using(group_key="g1").enqueue()
    defs.nap.using(group_key="g2").enqueue()
    defs.nap.enqueue()  # no group
    first = claim(limit=1)
    assert first[0].group_key == "g1"
    rest = claim(limit=10)
    # g1 is running: its second job waits; g2 and the ungrouped job are not blocked.
    assert sorted((j.group_key or "") for j in rest) in (["", "g2"], ["", "g1", "g2"])
    # With one job per statement, as the worker claims while groups exist, g1 never doubles.
    Job.objects.filter(state="running").update(state="queued", attempts=0)
    seen = [claim(limit=1) for _ in range(4)]
    groups = [j.group_key for batch in seen for j in batch]
    assert groups.count("g1") == 1


def test_priority__order_holds_with_limits():
    low = defs.nap.using(priority=-5, group_key="x").enqueue()
    high = defs.nap.using(priority=5, group_key="y").enqueue()
    assert [j.pk for j in claim(limit=1)] == [high.pk]
    assert [j.pk for j in claim(limit=1)] == [low.pk]


def test_limit_config__limited_only_when_needed():
    config = LimitConfig("t/%", "default")
    defs.nap.enqueue()
    config.refresh()
    assert config.limited is False
    defs.nap.using(group_key="g").enqueue()
    config.read_at = -1e9
    config.refresh()
    assert config.limited is True


def test_rate_tokens__bucket_refills_with_time():
    Queue.objects.create(name="rated", rate_numerator=2, rate_denominator=1, rate_period="second")
    now = timezone.now()
    assert take_rate_tokens({"rated"}, now, "default") == set()  # starts full: 2 tokens
    Queue.objects.filter(name="rated").update(rate_allowance=0.5)
    assert take_rate_tokens({"rated"}, now, "default") == {"rated"}
    later = now + timedelta(milliseconds=300)
    assert take_rate_tokens({"rated"}, later, "default") == set()  # 0.5 + 0.6 >= 1


def test_excluded_queues_are_skipped():
    defs.nap.using(queue="out").enqueue()
    ops = db.for_connection(connection)
    assert (
        ops.claim_jobs(
            connection,
            queues=None,
            limit=5,
            worker="w/1",
            now=timezone.now(),
            limits=Limits(excluded=["out"]),
        )
        == []
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rate_numerator": 5}, "rate_period"),
        ({"rate_period": "hour"}, "rate_numerator"),
        ({"rate_numerator": 5, "rate_period": "hour", "rate_denominator": 0}, "rate_denominator"),
        ({"rate_numerator": 5, "rate_period": "fortnight"}, "rate_period"),
        ({"max_concurrent": -1}, "max_concurrent"),
        ({"name": "bad name!"}, "name"),
    ],
)
def test_queue_validation__bad_limits_refused(fields, field):
    queue = Queue(**{"name": "ok", **fields})
    with pytest.raises(ValidationError) as info:
        queue.full_clean()
    assert field in info.value.message_dict
