"""A large enqueue_many is written in chunks of ENQUEUE_MANY_CHUNK rows, all or nothing."""

from __future__ import annotations

import pytest
from django.db import connection as _connection
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from django_jobs.conf import jobs_settings
from django_jobs.enqueue import request as enqueue_module
from django_jobs.models import Job
from tests.testapp import jobs as defs

# The statements as the test database writes them (backticks on MySQL).
INTO_JOB = f"INTO {_connection.ops.quote_name('django_jobs_job')}"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chunk_of_four(monkeypatch):
    monkeypatch.setattr(enqueue_module, "ENQUEUE_MANY_CHUNK", 4)


def _inserts(queries) -> int:
    return sum(1 for q in queries if f"INSERT {INTO_JOB}" in q["sql"])


def test_enqueue_many__is_written_in_chunks(chunk_of_four):
    defs.add.enqueue(0, 0)  # the queue row exists: count only the job INSERTs
    with CaptureQueriesContext(connections[jobs_settings.DATABASE]) as queries:
        jobs = defs.add.enqueue_many([[i, i] for i in range(10)])
    assert _inserts(queries.captured_queries) == 3  # 4 + 4 + 2 rows
    assert [j.args for j in jobs] == [[i, i] for i in range(10)]
    assert Job.objects.filter(pk__in=[j.pk for j in jobs]).count() == 10
    assert [j.pk for j in jobs] == sorted(j.pk for j in jobs)


def test_enqueue_many__a_bad_item_in_a_later_chunk_writes_nothing(chunk_of_four):
    items = [[i, i] for i in range(10)]
    items[8] = [1, object()]
    with pytest.raises(TypeError, match="enqueue_many item 8"):
        defs.add.enqueue_many(items)
    assert not Job.objects.exists()


def test_enqueue_many__chunks_roll_back_with_the_callers_transaction(chunk_of_four):
    with pytest.raises(RuntimeError), transaction.atomic(using=jobs_settings.DATABASE):
        defs.add.enqueue_many([[i, i] for i in range(10)])
        raise RuntimeError("the caller fails")
    assert not Job.objects.exists()


def test_enqueue_many__keys_across_chunks_return_the_holder(chunk_of_four):
    keys = [f"k{i % 5}" for i in range(10)]  # each key twice, in different chunks
    jobs = defs.add.using(on_conflict="return").enqueue_many([[i, i] for i in range(10)], keys=keys)
    assert Job.objects.count() == 5
    assert [j.pk for j in jobs[5:]] == [j.pk for j in jobs[:5]]


def test_enqueue_many__the_chunk_size_is_documented():
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs/reference/enqueue.md").read_text()
    assert f"{enqueue_module.ENQUEUE_MANY_CHUNK:,}" in docs
