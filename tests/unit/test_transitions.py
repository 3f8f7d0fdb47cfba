"""The transitions are checked against the table in ``states`` when they are defined."""

import pytest

from django_jobs import states
from django_jobs.models import transitions as t
from django_jobs.models.job import Job
from django_jobs.states import State


def test_transitions__every_pair_is_allowed_by_the_table():
    for transition in t.ALL.values():
        for source in transition.sources:
            assert states.can_transition(source, transition.target), transition.name


def test_transitions__every_pair_of_the_table_has_a_writer():
    written = {(s, tr.target) for tr in t.ALL.values() for s in tr.sources}
    table = {(s, target) for s, targets in states.TRANSITIONS.items() for target in targets}
    assert written == table


@pytest.mark.parametrize(
    ("sources", "target"),
    [
        ((State.QUEUED,), State.SUCCEEDED),
        ((State.SCHEDULED,), State.RUNNING),
        ((State.RUNNING, State.SUCCEEDED), State.QUEUED),
        ((State.CANCELLED,), State.QUEUED),
        ((), State.QUEUED),
    ],
)
def test_transition__a_pair_the_table_refuses_is_a_programming_error(sources, target):
    with pytest.raises(ValueError, match="does not allow"):
        t.Transition("bad", sources, target)


def test_transition__running_jobs_are_fenced_but_put_back():
    fenced = {tr.name for tr in t.ALL.values() if tr.fenced}
    from_running = {tr.name for tr in t.ALL.values() if tr.sources == (State.RUNNING,)}
    assert fenced == from_running - {"put_back"}


def test_apply__a_seen_state_it_does_not_start_from_writes_nothing():
    # No database here: a query would raise. The refusal is decided before any write.
    job = Job(state=State.RUNNING)
    assert t.RUN_NOW.apply(job) is False
    assert t.CANCEL.apply(job, last_error="cancelled") is False
    assert job.state == State.RUNNING and job.last_error == ""


def test_ending__by_target():
    assert t.ending(State.SUCCEEDED) is t.SUCCEED
    assert t.ending(State.FAILED) is t.FAIL
    assert t.ending(State.CANCELLED) is t.CANCEL_RUNNING
    assert t.ending(State.SCHEDULED) is t.RETRY_LATER
    assert t.ending(State.QUEUED) is t.RETRY_NOW


def test_source__one_or_an_error():
    assert t.CLAIM.source == State.QUEUED
    with pytest.raises(ValueError):
        _ = t.CANCEL.source
