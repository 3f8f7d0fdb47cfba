import time
import uuid

import pytest

from django_jobs.ids import new_job_id, parse_job_id


def test_new_job_id__version_7_and_time_ordered():
    first = new_job_id()
    time.sleep(0.002)
    second = new_job_id()
    assert first.version == 7
    assert first < second


def test_parse_job_id__ulid():
    assert parse_job_id("01JBKR2E5F3G4H5J6K7L8M9N0P") == parse_job_id("01jbkr2e5f3g4h5j6k7l8m9n0p")


def test_parse_job_id__uuid():
    value = uuid.uuid4()
    assert parse_job_id(str(value)) == value


@pytest.mark.parametrize(
    "bad", ["nope", "01JBKR2E5F3G4H5J6K7L8M9N0U", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", 42]
)
def test_parse_job_id__bad_input_says_what(bad):
    with pytest.raises(ValueError):
        parse_job_id(bad)


def test_new_job_ids__increase_in_the_order_made():
    from django_jobs.ids import new_job_ids

    for _ in range(50):
        ids = new_job_ids(20)
        assert ids == sorted(ids) and len(set(ids)) == 20
