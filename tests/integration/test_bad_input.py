"""Bad input at every public entry point: a clear error, nothing written, nothing crashes.

Property-based: hypothesis throws values of every JSON-ish and non-JSON type at the enqueue
options, the job arguments, cron strings and settings; the only outcomes allowed are success
or the documented exception types, and a refused call writes no row.
"""

from datetime import datetime, timedelta, timezone

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from django_jobs.conf import SETTINGS, jobs_settings
from django_jobs.enqueue import InvalidEnqueue
from django_jobs.exceptions import JobDefinitionError
from django_jobs.models import Job, Queue
from django_jobs.schedules import Cron
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=300),
    st.binary(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.datetimes(),
    st.datetimes(timezones=st.just(timezone.utc)),
    st.timedeltas(),
    st.sets(st.integers(), max_size=2),
    st.builds(object),
)
OPTIONS = ["queue", "priority", "run_at", "delay", "key", "on_conflict", "meta", "group_key"]
FAST = hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FAST
@given(option=st.sampled_from(OPTIONS), value=anything)
def test_bad_input__enqueue_options(option, value):
    before = Job.objects.count()
    try:
        job = defs.add.using(**{option: value}).enqueue(1, 2)
    except InvalidEnqueue as exc:
        assert option in str(exc)
        assert Job.objects.count() == before
        return
    assert Job.objects.filter(pk=job.pk).exists()


@FAST
@given(a=anything, b=anything)
def test_bad_input__job_arguments(a, b):
    before = Job.objects.count()
    try:
        defs.add.enqueue(a, b=b)
    except TypeError as exc:
        assert "tests.testapp.jobs.add" in str(exc)
        assert Job.objects.count() == before


@FAST
@given(
    expression=st.text(max_size=40),
    zone=st.sampled_from(["UTC", "Europe/Paris", "Nowhere/Else", ""]),
    misfire=st.one_of(
        st.sampled_from(["all", "skip", "once", "never"]), st.floats(), st.integers()
    ),
)
def test_bad_input__cron(expression, zone, misfire):
    try:
        cron = Cron(expression, timezone=zone, misfire=misfire)
    except JobDefinitionError as exc:
        assert exc.check_id == "django_jobs.E012"
        return
    assert cron.next_after(datetime(2026, 1, 1, tzinfo=timezone.utc)) > datetime(
        2026, 1, 1, tzinfo=timezone.utc
    )


@FAST
@given(name=st.sampled_from(sorted(SETTINGS)), value=anything)
def test_bad_input__settings_values(name, value):
    with override_settings(**{f"DJANGO_JOBS_{name}": value}):
        try:
            getattr(jobs_settings, name)
        except ImproperlyConfigured as exc:
            assert f"DJANGO_JOBS_{name}" in str(exc)


@FAST
@given(
    items=st.lists(
        st.one_of(
            st.dictionaries(st.sampled_from(["a", "b", "c"]), anything, max_size=3),
            st.lists(anything, max_size=3),
            anything,
        ),
        max_size=4,
    )
)
def test_bad_input__enqueue_many_all_or_nothing(items):
    before = (Job.objects.count(), Queue.objects.count())
    try:
        jobs = defs.add.enqueue_many(items)
    except (TypeError, InvalidEnqueue):
        assert (Job.objects.count(), Queue.objects.count())[0] == before[0]
        return
    assert len(jobs) == len(items)


def test_bad_input__delay_in_the_past_as_run_at_is_allowed_and_runs_now():
    job = defs.add.using(run_at=datetime.now(timezone.utc) - timedelta(hours=1)).enqueue(1, 2)
    assert job.state == "queued"


@pytest.mark.parametrize("option", ["key", "group_key"])
def test_bad_input__nul_character_in_text_option(option):
    with pytest.raises(InvalidEnqueue, match=option):
        defs.add.using(**{option: "a\x00b"}).enqueue(1, 2)
    assert not Job.objects.exists()


def test_bad_input__nul_character_in_arguments():
    with pytest.raises(TypeError, match="argument 'a'.*NUL"):
        defs.add.enqueue("x\x00y", 2)
    assert not Job.objects.exists()
