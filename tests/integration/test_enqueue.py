"""Enqueueing: rows written, options honoured, bad input refused with nothing written."""

from datetime import datetime, timedelta

import pytest
from django.db import connection as _connection
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from django_jobs.enqueue import InvalidEnqueue
from django_jobs.exceptions import DuplicateJob, UnknownJob
from django_jobs.models import Job, Queue
from tests.testapp import jobs as defs
from tests.testapp.models import Note

# The statements as the test database writes them (backticks on MySQL).
INTO_JOB = f"INTO {_connection.ops.quote_name('django_jobs_job')}"

pytestmark = pytest.mark.django_db


def test_enqueue__returns_the_saved_row():
    job = defs.add.enqueue(1, b=2)
    stored = Job.objects.get(pk=job.pk)
    assert (stored.name, stored.version, stored.queue) == ("tests.testapp.jobs.add", 1, "default")
    assert stored.args == [1] and stored.kwargs == {"b": 2}
    assert stored.state == "queued"
    assert stored.max_attempts == 4  # default 3 retries
    assert stored.attempts == 0


def test_enqueue__definition_defaults_used():
    job = defs.send_email.enqueue("a@example.com")
    assert (job.queue, job.priority) == ("mail", 5)


def test_enqueue__creates_queue_on_first_use():
    defs.send_email.using(queue="bulk-1").enqueue("a@example.com")
    defs.send_email.using(queue="bulk-1").enqueue("b@example.com")
    assert Queue.objects.filter(name="bulk-1").count() == 1


def test_using__all_options():
    run_at = timezone.now() + timedelta(hours=1)
    job = defs.send_email.using(
        queue="bulk",
        priority=-5,
        run_at=run_at,
        key="welcome:42",
        meta={"user": 42},
        group_key="u42",
    ).enqueue("a@example.com", body="hi")
    stored = Job.objects.get(pk=job.pk)
    assert (stored.queue, stored.priority, stored.key, stored.group_key) == (
        "bulk",
        -5,
        "welcome:42",
        "u42",
    )
    assert stored.meta == {"user": 42}
    assert stored.state == "scheduled"
    assert stored.run_at == run_at


def test_using__delay_schedules():
    before = timezone.now()
    job = defs.add.using(delay=timedelta(minutes=5)).enqueue(1, 2)
    assert job.state == "scheduled"
    assert job.run_at >= before + timedelta(minutes=5)


def test_using__seconds_delay_accepted():
    assert defs.add.using(delay=30).enqueue(1, 2).state == "scheduled"


def test_using__zero_delay_is_queued():
    assert defs.add.using(delay=0).enqueue(1, 2).state == "queued"


def test_using__meta_merges_definition_meta(clean_registry):
    from django_jobs import job

    @job(name="with_meta", meta={"team": "bi", "level": 1})
    def with_meta() -> None:
        pass

    assert with_meta.using(meta={"level": 2}).enqueue().meta == {"team": "bi", "level": 2}


def test_job_enqueue__by_name():
    job = Job.enqueue("send_email", args=["a@example.com"], kwargs={"body": "hi"}, queue="bulk")
    assert (job.version, job.queue, job.kwargs) == (2, "bulk", {"body": "hi"})


def test_job_enqueue__by_name_and_version():
    assert Job.enqueue("send_email", args=["a@x"], version=1).version == 1


def test_job_enqueue__unknown_name_writes_nothing():
    with pytest.raises(UnknownJob, match="no job definition 'myapp.jobs.missing'"):
        Job.enqueue("myapp.jobs.missing")
    assert not Job.objects.exists()


def test_job_enqueue__unknown_version():
    with pytest.raises(UnknownJob, match="version 9"):
        Job.enqueue("send_email", args=["a@x"], version=9)


def test_enqueue_many__one_row_each():
    jobs = defs.send_email.enqueue_many(
        [{"to": "a@x", "body": "1"}, {"to": "b@x", "body": "2"}, ["c@x"]]
    )
    assert [j.kwargs for j in jobs] == [{"to": "a@x", "body": "1"}, {"to": "b@x", "body": "2"}, {}]
    assert jobs[2].args == ["c@x"]
    assert Job.objects.count() == 3


def test_enqueue_many__one_insert_statement():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The queue has its row: on SQLite the first enqueue to a queue without one tries the
    # INSERT, which writes nothing, before creating the row (test_enqueue_statements.py).
    Queue.objects.create(name="default")
    with CaptureQueriesContext(connection) as captured:
        defs.add.enqueue_many([{"a": i, "b": i} for i in range(2000)])
    inserts = [q["sql"] for q in captured.captured_queries if INTO_JOB in q["sql"]]
    assert len(inserts) == 1
    assert Job.objects.count() == 2000


def test_enqueue_many__empty():
    assert defs.add.enqueue_many([]) == []


def test_enqueue_many__bad_item_writes_nothing():
    with pytest.raises(TypeError, match="argument 'b' of tests.testapp.jobs.add is not JSON"):
        defs.add.enqueue_many([{"a": 1, "b": 2}, {"a": 1, "b": {1, 2}}])
    assert not Job.objects.exists()


def test_enqueue_many__item_of_wrong_type():
    with pytest.raises(TypeError, match="enqueue_many item 1"):
        defs.add.enqueue_many([{"a": 1, "b": 2}, 7])


def test_enqueue_many__keys_deduplicate():
    first = defs.add.using(key="k1").enqueue(1, 1)
    jobs = defs.add.enqueue_many([[1, 1], [2, 2], [3, 3]], keys=["k1", "k2", "k2"])
    assert jobs[0].pk == first.pk
    assert jobs[1].pk == jobs[2].pk
    assert Job.objects.count() == 2


def test_enqueue_many__keys_length_mismatch():
    with pytest.raises(InvalidEnqueue, match="'keys' has 1 entries for 2 items"):
        defs.add.enqueue_many([[1, 1], [2, 2]], keys=["a"])


def test_enqueue_many__shared_key_refused():
    with pytest.raises(InvalidEnqueue, match="give enqueue_many"):
        defs.add.using(key="same").enqueue_many([[1, 1], [2, 2]])


# --- keys ------------------------------------------------------------------------------


def test_key__return_existing_active_job():
    first = defs.add.using(key="once").enqueue(1, 1)
    again = defs.add.using(key="once").enqueue(5, 5)
    assert again.pk == first.pk
    assert again.args == [1, 1]
    assert Job.objects.count() == 1


def test_key__raise():
    first = defs.add.using(key="once").enqueue(1, 1)
    with pytest.raises(DuplicateJob) as info:
        defs.add.using(key="once", on_conflict="raise").enqueue(2, 2)
    assert info.value.existing.pk == first.pk
    assert Job.objects.count() == 1


def test_key__replace_cancels_the_waiting_job():
    first = defs.add.using(key="once").enqueue(1, 1)
    second = defs.add.using(key="once", on_conflict="replace").enqueue(2, 2)
    assert second.pk != first.pk
    first.refresh_from_db()
    assert first.state == "cancelled"
    assert Job.objects.get(key="once", state="queued").pk == second.pk


def test_key__replace_refused_while_running():
    first = defs.add.using(key="once").enqueue(1, 1)
    Job.objects.filter(pk=first.pk).update(state="running")
    with pytest.raises(DuplicateJob, match="running"):
        defs.add.using(key="once", on_conflict="replace").enqueue(2, 2)
    assert Job.objects.count() == 1


def test_key__free_again_once_finished():
    first = defs.add.using(key="once").enqueue(1, 1)
    Job.objects.filter(pk=first.pk).update(state="succeeded")
    assert defs.add.using(key="once").enqueue(2, 2).pk != first.pk


# --- bad input --------------------------------------------------------------------------


def test_bad_input__non_json_argument_names_it():
    with pytest.raises(
        TypeError, match="argument 'b' of tests.testapp.jobs.add is not JSON-serialisable"
    ):
        defs.add.enqueue(1, b=datetime(2026, 1, 1))
    assert not Job.objects.exists()


def test_bad_input__nan_refused():
    with pytest.raises(TypeError, match="argument 'a'"):
        defs.add.enqueue(float("nan"), 1)


def test_bad_input__arguments_must_match_signature():
    with pytest.raises(TypeError, match="do not match its signature"):
        defs.add.enqueue(1, 2, 3)
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"delay": timedelta(seconds=-1)}, "'delay' must not be negative"),
        ({"delay": "soon"}, "'delay' must be a timedelta"),
        ({"priority": 1000}, "'priority' must be an integer from -100 to 100"),
        ({"priority": "high"}, "'priority' must be an integer"),
        ({"queue": "no spaces please"}, "'queue' must be a queue name"),
        ({"queue": ""}, "'queue' must be a queue name"),
        ({"run_at": datetime(2030, 1, 1)}, "'run_at' must be timezone-aware"),
        ({"run_at": "tomorrow"}, "'run_at' must be a datetime"),
        ({"key": ""}, "'key' must be a non-empty string"),
        ({"key": "x" * 300}, "'key' must be a non-empty string of at most 255"),
        ({"on_conflict": "merge"}, "'on_conflict' must be one of return, raise, replace"),
        ({"meta": ["list"]}, "'meta' must be a dict"),
        ({"colour": "red"}, "'colour' is unknown"),
        ({"run_at": timezone.now(), "delay": 5}, "cannot both be given"),
    ],
)
def test_bad_input__options_refused(options, fragment):
    with pytest.raises(InvalidEnqueue, match="enqueue option") as info:
        defs.add.using(**options).enqueue(1, 2)
    assert fragment in str(info.value)
    assert not Job.objects.exists()
    assert not Queue.objects.exists()


@override_settings(USE_TZ=False)
def test_run_at__naive_accepted_without_timezones():
    job = defs.add.using(run_at=datetime(2099, 1, 1)).enqueue(1, 2)
    assert job.state == "scheduled"


# --- transactions -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_atomic__rolled_back_with_the_callers_writes():
    with pytest.raises(RuntimeError), transaction.atomic():
        Note.objects.create(text="mine")
        defs.add.enqueue(1, 2)
        raise RuntimeError("abort")
    assert not Note.objects.exists()
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_atomic__committed_with_the_callers_writes():
    with transaction.atomic():
        Note.objects.create(text="mine")
        job = defs.add.enqueue(1, 2)
    assert Job.objects.filter(pk=job.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_atomic__savepoint_rollback_keeps_the_outer_job():
    with transaction.atomic():
        outer = defs.add.enqueue(1, 1)
        with pytest.raises(RuntimeError), transaction.atomic():
            defs.add.enqueue(2, 2)
            raise RuntimeError("inner")
    assert list(Job.objects.values_list("pk", flat=True)) == [outer.pk]


@pytest.mark.django_db(transaction=True)
def test_atomic__queue_created_in_rolled_back_transaction_is_recreated():
    with pytest.raises(RuntimeError), transaction.atomic():
        defs.add.using(queue="fresh").enqueue(1, 2)
        raise RuntimeError("abort")
    defs.add.using(queue="fresh").enqueue(1, 2)
    assert Queue.objects.filter(name="fresh").exists()


# --- signals ----------------------------------------------------------------------------


def test_signal__job_enqueued_after_commit(django_capture_on_commit_callbacks):
    from django_jobs.signals import job_enqueued

    seen = []

    def receiver(sender, job, **kwargs):
        seen.append(job.pk)

    job_enqueued.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = defs.add.enqueue(1, 2)
            assert seen == []
    finally:
        job_enqueued.disconnect(receiver)
    assert seen == [job.pk]


def test_signal__failing_receiver_does_not_break_enqueue(django_capture_on_commit_callbacks):
    from django_jobs.signals import job_enqueued

    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    job_enqueued.connect(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = defs.add.enqueue(1, 2)
    finally:
        job_enqueued.disconnect(broken)
    assert Job.objects.filter(pk=job.pk).exists()


def test_using__later_delay_overrides_earlier_run_at():
    far = timezone.now() + timedelta(days=30)
    job = defs.add.using(run_at=far).using(delay=0).enqueue(1, 1)
    assert job.state == "queued"


def test_enqueue_many__repeated_key_with_raise_names_the_batch():
    with pytest.raises(DuplicateJob, match="given twice in this enqueue_many"):
        defs.add.using(on_conflict="raise").enqueue_many([[1, 1], [2, 2]], keys=["k", "k"])
    assert not Job.objects.exists()


@override_settings(DJANGO_JOBS_DEFAULT_QUEUE="bad queue!")
def test_settings__invalid_default_queue_refused():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(
        ImproperlyConfigured, match="DJANGO_JOBS_DEFAULT_QUEUE must be a queue name"
    ):
        defs.add.enqueue(1, 1)
    assert not Job.objects.exists()


def test_using__client_chosen_ulid_id():
    job = defs.add.using(id="01JBKR2E5F3G4H5J6K7L8M9N0P").enqueue(1, 2)
    from django_jobs.ids import parse_job_id

    assert Job.objects.get(pk=parse_job_id("01JBKR2E5F3G4H5J6K7L8M9N0P")).pk == job.pk


def test_using__client_chosen_id_taken():
    import uuid

    chosen = uuid.uuid4()
    defs.add.using(id=chosen).enqueue(1, 2)
    with pytest.raises(DuplicateJob, match="exists already"):
        defs.add.using(id=str(chosen)).enqueue(3, 4)
    assert Job.objects.count() == 1


def test_using__malformed_id_refused():
    with pytest.raises(InvalidEnqueue, match="'id' must be a UUID or a ULID"):
        defs.add.using(id="not-an-id").enqueue(1, 2)


# --- statements -------------------------------------------------------------------------


def captured_sql(action):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        result = action()
    return result, [q["sql"] for q in captured.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_statements__plain_enqueue_is_one_statement():
    defs.add.enqueue(1, 1)  # the first use of the queue creates its Queue row
    job, statements = captured_sql(lambda: defs.add.enqueue(2, 2))
    assert len(statements) == 1 and INTO_JOB in statements[0]
    assert Job.objects.get(pk=job.pk).args == [2, 2]


@pytest.mark.django_db(transaction=True)
def test_statements__keyed_enqueue_is_one_statement():
    defs.add.enqueue(1, 1)
    job, statements = captured_sql(lambda: defs.add.using(key="k").enqueue(2, 2))
    assert len(statements) == 1
    again, statements = captured_sql(lambda: defs.add.using(key="k").enqueue(3, 3))
    assert again.pk == job.pk and len(statements) == 2  # the insert, then the holder
    assert not any("SAVEPOINT" in sql for sql in statements)


@pytest.mark.django_db(transaction=True)
def test_statements__enqueue_many_is_one_statement():
    defs.add.enqueue(1, 1)
    jobs, statements = captured_sql(lambda: defs.add.enqueue_many([[1, 1], [2, 2]]))
    assert len(statements) == 1
    assert Job.objects.filter(pk__in=[j.pk for j in jobs]).count() == 2


def test_enqueue_many__json_values_of_equal_python_values_kept_apart():
    jobs = defs.add.enqueue_many([[1, 1], [1.0, 1.0], [True, True]])
    stored = {j.pk: j.args for j in Job.objects.all()}
    for job, expected in zip(jobs, ([1, 1], [1.0, 1.0], [True, True])):
        assert [type(v) for v in stored[job.pk]] == [type(v) for v in expected]
        assert job.args == stored[job.pk] == expected


def test_enqueue_many__keys_and_no_keys_mixed():
    jobs = defs.add.enqueue_many([[1, 1], [2, 2], [3, 3]], keys=["k1", None, "k3"])
    stored = dict(Job.objects.values_list("pk", "key"))
    assert [stored[j.pk] for j in jobs] == ["k1", None, "k3"]


def test_enqueue_many__rows_share_the_batch_values():
    jobs = defs.send_email.using(meta={"batch": 7}).enqueue_many([["a@x"], ["b@x"]])
    stored = Job.objects.order_by("id")
    assert [(j.queue, j.priority, j.meta, j.created_at) for j in stored] == [
        ("mail", 5, {"batch": 7}, jobs[0].created_at)
    ] * 2
    assert len({j.pk for j in stored}) == 2


def test_enqueue_many__signature_error_names_the_item():
    with pytest.raises(TypeError, match="enqueue_many item 1: arguments for .* signature"):
        defs.add.enqueue_many([{"a": 1, "b": 2}, {"a": 1}])
    assert not Job.objects.exists()


def test_enqueue_many__json_error_names_the_item():
    with pytest.raises(TypeError, match="enqueue_many item 2: argument 'a'"):
        defs.add.enqueue_many([[1, 2], [3, 4], [float("inf"), 4]])
    assert not Job.objects.exists()


def test_enqueue__signature_checked_per_call_shape():
    defs.add.enqueue(1, b=2)
    with pytest.raises(TypeError, match="missing a required argument: 'b'"):
        defs.add.enqueue(1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'c'"):
        defs.add.enqueue(1, b=2, c=3)
    assert Job.objects.count() == 1
