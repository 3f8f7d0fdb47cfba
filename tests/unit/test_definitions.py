import asyncio
from datetime import timedelta

import pytest

from django_jobs import Backoff, Cron, RecurringJob, job
from django_jobs.exceptions import JobDefinitionError, UnknownJob


def plain(x: int) -> int:
    return x


def test_job__bare_decorator_defaults(clean_registry):
    definition = job(plain)
    assert definition.name == "tests.unit.test_definitions.plain"
    assert definition.version == 1
    assert definition.queue_name == "default"
    assert definition.kind == "function"
    assert definition(3) == 3  # still callable directly
    assert clean_registry.get(definition.name) is definition


def test_job__all_options(clean_registry):
    async def report(report_id: int) -> dict:
        return {}

    definition = job(
        name="generate_report",
        version=2,
        queue="reports",
        priority=10,
        max_retries=5,
        retry_delay=30,
        backoff=Backoff.EXPONENTIAL_JITTER,
        max_retry_delay=300,
        retry_on=(ConnectionError,),
        timeout=120,
        dead_letter=True,
        heartbeat_timeout=timedelta(minutes=5),
        max_concurrent=2,
        max_running=4,
        on_shutdown="requeue",
        result_ttl=timedelta(days=7),
        atomic=False,
        meta={"team": "bi"},
    )(report)
    assert definition.is_async
    assert definition.max_attempts == 6
    assert definition.heartbeat_timeout == 300
    assert definition.retry_on == (ConnectionError,)
    assert definition.effective_result_ttl == timedelta(days=7)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"timeout": -1}, "'timeout' must be > 0"),
        ({"timeout": float("nan")}, "'timeout' must be a finite number"),
        ({"retry_delay": float("inf")}, "'retry_delay' must be a finite number"),
        ({"timeout": "soon"}, "'timeout' must be a number"),
        ({"priority": 101}, "'priority' must be an integer from -100 to 100"),
        ({"queue": "bad queue!"}, "'queue' must be a queue name"),
        ({"max_retries": -1}, "'max_retries' must be an integer >= 0"),
        ({"backoff": "fibonacci"}, "'backoff' must be one of"),
        ({"retry_on": (ValueError, "oops")}, "'retry_on' must be an exception class"),
        ({"on_shutdown": "panic"}, "'on_shutdown' must be one of finish, requeue, stop"),
        ({"dead_letter": "yes"}, "'dead_letter' must be True or False"),
        ({"meta": {"when": object()}}, "'meta' must be JSON-serialisable"),
        ({"cron": "not a cron"}, "not a valid cron expression"),
        ({"interval": 0}, "'interval' must be > 0"),
        ({"max_concurrent": 0}, "'max_concurrent' must be an integer >= 1"),
        ({"retries": 3}, "'retries' is not a job option"),
    ],
)
def test_job__bad_option_names_definition_and_option(clean_registry, options, fragment):
    with pytest.raises(JobDefinitionError) as info:
        job(name="broken", **options)(plain)
    assert "'broken'" in str(info.value)
    assert fragment in str(info.value)
    assert ("broken", 1) not in clean_registry


def test_job__version_must_be_positive(clean_registry):
    with pytest.raises(JobDefinitionError, match="'version'"):
        job(name="v0", version=0)(plain)


def test_job__duplicate_name_version(clean_registry):
    job(name="twice")(plain)

    def other(x: int) -> int:
        return x

    with pytest.raises(JobDefinitionError, match="registered twice") as info:
        job(name="twice")(other)
    assert info.value.check_id == "django_jobs.E011"


def test_job__several_versions_latest_wins(clean_registry):
    def v1() -> int:
        return 1

    def v2() -> int:
        return 2

    job(name="multi", version=1)(v1)
    job(name="multi", version=2)(v2)
    assert clean_registry.get("multi").version == 2
    assert clean_registry.get("multi", 1).func is v1
    with pytest.raises(UnknownJob, match=r"registered versions: \[1, 2\]"):
        clean_registry.get("multi", 3)


def test_job__nested_function_needs_a_name(clean_registry):
    def inner() -> None:
        pass

    with pytest.raises(JobDefinitionError, match="explicit name="):
        job(inner)


def test_job__cron_with_required_arguments_refused(clean_registry):
    with pytest.raises(JobDefinitionError, match="without required arguments") as info:
        job(name="cronned", cron="* * * * *")(plain)
    assert info.value.check_id == "django_jobs.E012"


def test_job__cron_and_interval_exclusive(clean_registry):
    def tick() -> None:
        pass

    with pytest.raises(JobDefinitionError, match="cannot both be set"):
        job(name="both", cron="* * * * *", interval=60)(tick)


def test_job__cron_string_becomes_cron(clean_registry):
    def tick() -> None:
        pass

    definition = job(name="cron_str", cron="*/5 * * * *")(tick)
    assert definition.cron == Cron("*/5 * * * *")
    assert definition.is_recurring


def test_job__atomic_async_refused(clean_registry):
    async def coro() -> None:
        pass

    with pytest.raises(JobDefinitionError, match="'atomic'"):
        job(name="atomic_async", atomic=True)(coro)


def test_recurring_job__registered_by_subclassing(clean_registry):
    class Cleanup(RecurringJob):
        name = "cleanup"
        interval = 0
        max_retries = 3
        timeout = 30

        def run(self) -> str:
            return "ok"

    definition = clean_registry.get("cleanup")
    assert definition.kind == "recurring"
    assert definition.interval == 0
    assert definition.schedule_max_failures == 3
    assert definition.timeout == 30
    assert definition.max_attempts == 1
    assert definition() == "ok"


def test_recurring_job__async_run(clean_registry):
    class AsyncCleanup(RecurringJob):
        name = "async_cleanup"

        async def run(self) -> str:
            return "ok"

    assert asyncio.run(clean_registry.get("async_cleanup")()) == "ok"


def test_recurring_job__abstract_base_not_registered(clean_registry):
    class Base(RecurringJob):
        abstract = True
        name = "base_recurring"

    assert clean_registry.find("base_recurring") is None


def test_recurring_job__negative_interval_refused(clean_registry):
    with pytest.raises(JobDefinitionError, match="'interval'"):

        class Bad(RecurringJob):
            name = "bad_recurring"
            interval = -5


def test_unknown_job__message():
    from django_jobs.registry import registry

    with pytest.raises(UnknownJob, match="no job definition 'nope.nothing' is registered"):
        registry.get("nope.nothing")
