"""``run_mode``: how a worker runs a definition's jobs, checked at import against its function."""

import pytest

from django_jobs import RecurringJob, job
from django_jobs.checks import check_definitions
from django_jobs.exceptions import JobDefinitionError


def plain() -> None:
    pass


async def coro() -> None:
    pass


def refusal(func, **options) -> JobDefinitionError:
    with pytest.raises(JobDefinitionError) as info:
        job(name="broken", **options)(func)
    assert str(info.value).startswith("job definition 'broken': ")
    return info.value


@pytest.mark.parametrize(
    ("func", "run_mode"),
    [(plain, "thread"), (plain, "process"), (coro, "async"), (coro, "process")],
)
def test_run_mode__fitting_values_are_kept(clean_registry, func, run_mode):
    definition = job(name="fits", run_mode=run_mode)(func)
    assert definition.run_mode == run_mode
    assert definition.effective_run_mode == run_mode


def test_run_mode__default_is_async_for_async_def_and_process_for_def(clean_registry):
    assert job(name="sync")(plain).run_mode is None
    assert job(name="sync2", run_mode=None)(plain).effective_run_mode == "process"
    assert job(name="sync3")(plain).effective_run_mode == "process"
    assert job(name="coro")(coro).effective_run_mode == "async"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("threads", "got 'threads' (did you mean 'thread'?)"),
        ("fork", "got 'fork'"),
        (1, "got 1"),
        (["async"], "got ['async']"),
    ],
)
def test_run_mode__unknown_value_names_it_and_the_choices(clean_registry, value, fragment):
    error = refusal(plain, run_mode=value)
    assert "option 'run_mode' must be one of async, thread, process, " in str(error)
    assert fragment in str(error)
    assert error.check_id == "django_jobs.E010"


def test_run_mode__async_on_a_plain_def_is_refused(clean_registry):
    error = refusal(plain, run_mode="async")
    assert str(error) == (
        "job definition 'broken': run_mode='async' needs an async def function; plain is a "
        "plain def: use run_mode='thread' or 'process'"
    )
    assert error.check_id == "django_jobs.E013"


def test_run_mode__thread_on_an_async_def_is_refused(clean_registry):
    error = refusal(coro, run_mode="thread")
    assert "run_mode='thread' needs a plain def function; coro is an async def" in str(error)
    assert "event loop: use run_mode='async' or 'process'" in str(error)
    assert error.check_id == "django_jobs.E013"


@pytest.mark.parametrize("func", [plain, coro])
def test_run_mode__atomic_with_async_is_refused(clean_registry, func):
    error = refusal(func, run_mode="async", atomic=True)
    assert "atomic=True cannot run with run_mode='async'" in str(error)
    assert "which the event loop cannot hold" in str(error)
    assert error.check_id == "django_jobs.E013"


@pytest.mark.parametrize("run_mode", [None, "thread", "process"])
def test_run_mode__atomic_on_a_def_is_accepted(clean_registry, run_mode):
    assert job(name="atomic", atomic=True, run_mode=run_mode)(plain).atomic


def test_run_mode__not_a_per_enqueue_option(clean_registry):
    from django_jobs.enqueue import InvalidEnqueue

    definition = job(name="enq")(plain)
    with pytest.raises(InvalidEnqueue, match="run_mode"):
        definition.using(run_mode="thread")


def test_run_mode__recurring_job_attribute(clean_registry):
    class Threaded(RecurringJob):
        name = "threaded"
        interval = 60
        run_mode = "thread"

        def run(self) -> None:
            pass

    class Default(RecurringJob):
        name = "default_mode"
        interval = 60

        async def run(self) -> None:
            pass

    assert Threaded.definition.effective_run_mode == "thread"
    assert Default.definition.run_mode is None
    assert Default.definition.effective_run_mode == "async"


def test_run_mode__recurring_job_attribute_is_checked(clean_registry):
    with pytest.raises(JobDefinitionError) as info:

        class Wrong(RecurringJob):
            name = "wrong"
            interval = 60
            run_mode = "async"

            def run(self) -> None:
                pass

    assert "Wrong.run is a plain def: use run_mode='thread' or 'process'" in str(info.value)
    assert info.value.check_id == "django_jobs.E013"


def test_run_mode__collected_errors_carry_their_check_id(clean_registry):
    with clean_registry.collecting_errors():
        job(name="wrong_async", run_mode="async")(plain)
        job(name="wrong_value", run_mode="green")(plain)
    found = {m.id: m.msg for m in check_definitions()}
    assert "job definition 'wrong_async': run_mode='async'" in found["django_jobs.E013"]
    assert "option 'run_mode' must be one of" in found["django_jobs.E010"]
