"""``durable``: whether a recurring definition's runs get a Job row; only schedules take False."""

from datetime import timedelta

import pytest

from django_jobs import Cron, RecurringJob, job
from django_jobs.checks import check_definitions
from django_jobs.exceptions import JobDefinitionError


def tick() -> None:
    pass


def test_durable__defaults_to_true(clean_registry):
    assert job(name="plain")(tick).durable is True
    assert job(name="cronned", cron="*/5 * * * *")(tick).durable is True


@pytest.mark.parametrize(
    "schedule",
    [{"cron": "*/5 * * * *"}, {"cron": Cron("0 3 * * *")}, {"interval": timedelta(minutes=1)}],
)
def test_durable__false_is_kept_on_a_schedule(clean_registry, schedule):
    definition = job(name="light", durable=False, **schedule)(tick)
    assert (definition.durable, definition.is_recurring) == (False, True)


def test_durable__true_is_accepted_without_a_schedule(clean_registry):
    assert job(name="explicit", durable=True)(tick).durable is True


def test_durable__false_without_a_schedule_is_refused(clean_registry):
    with pytest.raises(JobDefinitionError) as info:
        job(name="once", durable=False)(tick)
    assert str(info.value) == (
        "job definition 'once': durable=False is only for recurring definitions (cron= or "
        "interval=), and this one has no schedule: remove durable=False, or give it a schedule"
    )
    assert info.value.check_id == "django_jobs.E014"


@pytest.mark.parametrize("value", ["no", 0, 1, None])
def test_durable__must_be_a_bool(clean_registry, value):
    with pytest.raises(JobDefinitionError) as info:
        job(name="typed", cron="*/5 * * * *", durable=value)(tick)
    assert f"option 'durable' must be True or False, got {value!r}" in str(info.value)
    assert info.value.check_id == "django_jobs.E010"


def test_durable__recurring_job_attribute(clean_registry):
    class Light(RecurringJob):
        name = "light_recurring"
        interval = 30
        durable = False

        def run(self) -> None:
            pass

    assert Light.definition.durable is False


def test_durable__recurring_job_attribute_is_checked(clean_registry):
    with pytest.raises(JobDefinitionError, match="option 'durable' must be True or False"):

        class Typed(RecurringJob):
            name = "typed_recurring"
            durable = "yes"

            def run(self) -> None:
                pass


def test_durable__not_a_per_enqueue_option(clean_registry):
    from django_jobs.enqueue import InvalidEnqueue

    definition = job(name="enq", cron="*/5 * * * *")(tick)
    with pytest.raises(InvalidEnqueue, match="durable"):
        definition.using(durable=False)


def test_durable__collected_error_has_its_check_id(clean_registry):
    with clean_registry.collecting_errors():
        job(name="collected", durable=False)(tick)
    [message] = [m for m in check_definitions() if m.id == "django_jobs.E014"]
    assert "job definition 'collected': durable=False is only for recurring" in message.msg
    assert "runjobs will not start" in message.hint
