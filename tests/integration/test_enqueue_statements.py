"""The first enqueue to a queue in a process: one statement, as every other enqueue.

Each test starts with the per-process memory of known queues empty (the autouse
``_fresh_queue_cache`` fixture), as in a process that has just started.
"""

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from django_jobs.enqueue import forget_queues
from django_jobs.models import Job, Queue
from tests.testapp import jobs as defs

# The statements as the test database writes them (backticks on MySQL).
INTO_JOB = f"INTO {connection.ops.quote_name('django_jobs_job')}"
INTO_QUEUE = f"INTO {connection.ops.quote_name('django_jobs_queue')}"

postgres_only = pytest.mark.postgres_only


def statements(action):
    with CaptureQueriesContext(connection) as captured:
        result = action()
    return result, [q["sql"] for q in captured.captured_queries]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_first_enqueue__creates_its_queue_in_the_same_statement():
    job, sql = statements(lambda: defs.add.using(queue="new-1").enqueue(1, 2))
    assert len(sql) == 1, sql
    assert INTO_QUEUE in sql[0] and INTO_JOB in sql[0]
    assert Job.objects.get(pk=job.pk).queue == "new-1"
    assert list(Queue.objects.values_list("name", flat=True)) == ["new-1"]
    _, sql = statements(lambda: defs.add.using(queue="new-1").enqueue(3, 4))
    assert len(sql) == 1 and "django_jobs_queue" not in sql[0]  # known now: the plain INSERT


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_first_enqueue__of_an_existing_queue_keeps_its_row():
    Queue.objects.create(name="old", paused=True, max_concurrent=3)
    job, sql = statements(lambda: defs.add.using(queue="old").enqueue(1, 2))
    assert len(sql) == 1
    assert list(Queue.objects.values_list("name", "paused", "max_concurrent")) == [("old", True, 3)]
    assert Job.objects.filter(pk=job.pk).exists()


@postgres_only
@pytest.mark.django_db
def test_first_enqueue__inside_a_transaction_is_one_query(django_assert_num_queries):
    # As a Django Tasks backend test does: enqueue in a TestCase, assertNumQueries(1).
    with django_assert_num_queries(1):
        job = defs.add.enqueue(1, 2)
    with django_assert_num_queries(1):
        assert Job.objects.get(pk=job.pk).args == [1, 2]
    assert Queue.objects.filter(name="default").exists()


@postgres_only
@pytest.mark.django_db
def test_first_enqueue__through_the_tasks_backend_is_one_query(django_assert_num_queries):
    from tests.tasksapp import tasks

    with django_assert_num_queries(1):
        result = tasks.add.enqueue(1, b=2)
    with django_assert_num_queries(1):
        assert tasks.add.get_result(result.id).args == [1]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_first_enqueue__keyed_and_many_are_one_statement_too():
    job, sql = statements(lambda: defs.add.using(queue="k", key="once").enqueue(1, 2))
    assert len(sql) == 1 and Job.objects.filter(pk=job.pk).exists()
    forget_queues()
    again, sql = statements(lambda: defs.add.using(queue="k", key="once").enqueue(5, 6))
    assert again.pk == job.pk and len(sql) == 2  # the insert (nothing written), the holder
    forget_queues()
    jobs, sql = statements(lambda: defs.add.using(queue="m").enqueue_many([[1, 1], [2, 2]]))
    assert len(sql) == 1 and Job.objects.filter(pk__in=[j.pk for j in jobs]).count() == 2
    assert set(Queue.objects.values_list("name", flat=True)) == {"k", "m"}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_first_enqueue__rolled_back_with_its_queue_row():
    with pytest.raises(RuntimeError), transaction.atomic():
        defs.add.using(queue="gone").enqueue(1, 2)
        raise RuntimeError("abort")
    assert not Queue.objects.exists() and not Job.objects.exists()
    _, sql = statements(lambda: defs.add.using(queue="gone").enqueue(1, 2))
    assert "django_jobs_queue" in sql[0]  # not remembered: the row is created again
    assert Queue.objects.filter(name="gone").exists()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_first_enqueue__concurrent_processes_make_one_queue_row():
    barrier, errors = threading.Barrier(4), []

    def enqueue() -> None:
        try:
            barrier.wait()
            defs.add.using(queue="raced").enqueue(1, 2)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Queue.objects.filter(name="raced").count() == 1
    assert Job.objects.filter(queue="raced").count() == 4


@pytest.mark.django_db(transaction=True)
def test_first_enqueue__of_a_queue_with_a_row_is_one_statement():
    # A process that starts after the queue's first job: its row exists, one INSERT.
    Queue.objects.create(name="known")
    job, sql = statements(lambda: defs.add.using(queue="known").enqueue(1, 2))
    assert len(sql) == 1, sql
    assert INTO_JOB in sql[0]
    assert Job.objects.get(pk=job.pk).args == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_first_enqueue__of_a_queue_without_a_row_creates_it():
    job, _ = statements(lambda: defs.add.using(queue="brand-new").enqueue(1, 2))
    assert Queue.objects.filter(name="brand-new").count() == 1
    assert list(Job.objects.values_list("pk", flat=True)) == [job.pk]  # written once
    _, sql = statements(lambda: defs.add.using(queue="brand-new").enqueue(3, 4))
    assert len(sql) == 1  # remembered after the commit


@pytest.mark.django_db(transaction=True)
def test_first_enqueue__keyed_on_a_queue_without_a_row_resolves_the_key():
    first = defs.add.using(queue="kq", key="same").enqueue(1, 2)
    Queue.objects.all().delete()
    forget_queues()
    again = defs.add.using(queue="kq", key="same").enqueue(3, 4)
    assert again.pk == first.pk and again.args == [1, 2]
    assert Queue.objects.filter(name="kq").exists()
    assert Job.objects.count() == 1
