"""Arguments as the database keeps them: refused when JSON would change them, returned as stored.

JSON objects have string keys only, and JSON has arrays, not tuples: an enqueue refuses what
it could not store unchanged (non-string keys) and returns the job with the values the row
holds (a tuple comes back as a list), so the caller sees what the job will receive.
"""

from datetime import timedelta

import pytest

from django_jobs.enqueue import InvalidEnqueue
from django_jobs.models import Job, Queue
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db


def stored(job: Job) -> Job:
    return Job.objects.get(pk=job.pk)


# --- dictionary keys --------------------------------------------------------------------


def test_arguments__non_string_key_refused_naming_the_argument():
    with pytest.raises(
        TypeError, match=r"argument 'a' of tests.testapp.jobs.add is not JSON-serialisable"
    ) as info:
        defs.add.enqueue({1: "a"}, b=2)
    assert "key 1 (int)" in str(info.value)
    assert not Job.objects.exists()
    assert not Queue.objects.exists()


def test_arguments__nested_non_string_key_names_its_path():
    with pytest.raises(TypeError, match="argument 'b'") as info:
        defs.add.enqueue(1, b={"rows": [{"ok": 1}, {(2, 3): "x"}]})
    assert "b['rows'][1]" in str(info.value)
    assert not Job.objects.exists()


@pytest.mark.parametrize("key", [None, True, 1.5])
def test_arguments__every_non_string_key_refused(key):
    with pytest.raises(TypeError, match="argument 'a'"):
        defs.add.enqueue({key: 1}, 2)
    assert not Job.objects.exists()


def test_arguments__non_string_key_in_enqueue_many_names_the_item():
    with pytest.raises(TypeError, match=r"enqueue_many item 1: argument 'a'") as info:
        defs.add.enqueue_many([[{"x": 1}, 2], [{"x": {7: 1}}, 2]])
    assert "a['x']" in str(info.value)
    assert not Job.objects.exists()


def test_meta__non_string_key_refused():
    with pytest.raises(InvalidEnqueue, match="'meta'") as info:
        defs.add.using(meta={"user": {42: "x"}}).enqueue(1, 2)
    assert "key 42 (int)" in str(info.value) and "meta['user']" in str(info.value)
    assert not Job.objects.exists()


# --- the returned job holds the stored values -------------------------------------------


def test_enqueue__returned_job_holds_the_stored_arguments():
    job = defs.add.enqueue((1, 2), b={"pair": (3, 4)})
    row = stored(job)
    assert (row.args, row.kwargs) == ([[1, 2]], {"b": {"pair": [3, 4]}})
    assert (job.args, job.kwargs) == (row.args, row.kwargs)
    assert type(job.args[0]) is list and type(job.kwargs["b"]["pair"]) is list


def test_enqueue_many__returned_jobs_hold_the_stored_arguments():
    jobs = defs.add.enqueue_many([((1, 2), (3,)), {"a": (4,), "b": {"t": (5,)}}])
    assert [(j.args, j.kwargs) for j in jobs] == [(stored(j).args, stored(j).kwargs) for j in jobs]
    assert jobs[0].args == [[1, 2], [3]] and jobs[1].kwargs == {"a": [4], "b": {"t": [5]}}


def test_enqueue__returned_job_holds_the_stored_meta():
    job = defs.add.using(meta={"ids": (1, 2)}).enqueue(1, 2)
    assert job.meta == stored(job).meta == {"ids": [1, 2]}


# --- messages ---------------------------------------------------------------------------


@pytest.mark.parametrize("args", ["a@x", b"a@x", {"to": "a@x"}, 7])
def test_job_enqueue__args_must_be_a_list_or_tuple(args):
    with pytest.raises(TypeError, match="'args' must be a list or tuple") as info:
        Job.enqueue("send_email", args=args)
    assert "too many positional arguments" not in str(info.value)
    assert not Job.objects.exists()


@pytest.mark.parametrize("kwargs", [["body"], "body=hi"])
def test_job_enqueue__kwargs_must_be_a_dict(kwargs):
    with pytest.raises(TypeError, match="'kwargs' must be a dict"):
        Job.enqueue("send_email", args=["a@x"], kwargs=kwargs)
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("delay", "shown"),
    [(-5, "got -5"), (-0.5, "got -0.5"), (timedelta(seconds=-5), "got -0:00:05")],
)
def test_using__negative_delay_shown_as_given(delay, shown):
    with pytest.raises(InvalidEnqueue, match="'delay' must not be negative") as info:
        defs.add.using(delay=delay)
    assert str(info.value).endswith(shown)
    assert "day" not in str(info.value)
