"""Unsaved rows of an enqueue: the same instances as the model's constructor makes."""

import uuid

from django.db.models.signals import post_init

from django_jobs.enqueue.rows import row_template, unsaved_jobs
from django_jobs.ids import new_job_ids
from django_jobs.models import Job

NAMES = ("id", "args", "kwargs", "meta", "key")


def rows():
    return [(uuid.uuid4(), [i], {"n": i}, {"m": i}, f"k{i}") for i in range(3)]


def test_unsaved_jobs__as_the_constructor_makes_them():
    template = row_template(name="a.b", version=2, queue="q", state="queued", priority=3)
    given = rows()
    made = unsaved_jobs(template, NAMES, given)
    expected = [Job(**{**template, **dict(zip(NAMES, row))}) for row in given]
    for job, other in zip(made, expected, strict=True):
        values = {k: v for k, v in vars(job).items() if k != "_state"}
        assert values == {k: v for k, v in vars(other).items() if k != "_state"}
        assert list(values) == [f.attname for f in Job._meta.concrete_fields]
        assert job._state.adding and job._state.db is None
    assert len({id(job._state) for job in made}) == 3  # one ModelState each
    assert made[0].args is given[0][1]  # the row's own values, not copies
    assert made[1].max_attempts == Job._meta.get_field("max_attempts").get_default()


def test_unsaved_jobs__constructor_runs_for_init_receivers():
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Job)
    try:
        made = unsaved_jobs(row_template(name="a.b"), NAMES, rows())
    finally:
        post_init.disconnect(receiver, sender=Job)
    assert seen == made and len(made) == 3


def test_new_job_ids__increasing_version_7():
    ids = new_job_ids(500)
    assert ids == sorted(ids) and len(set(ids)) == 500
    assert {i.version for i in ids} == {7} and all(isinstance(i, uuid.UUID) for i in ids)
