import pytest

from django_jobs import states
from django_jobs.exceptions import InvalidTransition
from django_jobs.states import State


def test_transitions__every_state_has_a_row():
    assert set(states.TRANSITIONS) == set(State.values)


def test_transitions__finished_states_are_terminal():
    for state in states.FINISHED_STATES:
        assert states.TRANSITIONS[state] == frozenset()


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("scheduled", "queued"),
        ("scheduled", "cancelled"),
        ("queued", "running"),
        ("queued", "cancelled"),
        ("running", "succeeded"),
        ("running", "failed"),
        ("running", "scheduled"),
        ("running", "queued"),
        ("running", "cancelled"),
    ],
)
def test_can_transition__allowed(current, target):
    assert states.can_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("queued", "succeeded"),
        ("scheduled", "running"),
        ("succeeded", "queued"),
        ("failed", "queued"),
        ("cancelled", "running"),
        ("queued", "failed"),
    ],
)
def test_can_transition__refused(current, target):
    assert not states.can_transition(current, target)


def test_sources__of_cancelled():
    assert set(states.sources("cancelled")) == {"scheduled", "queued", "running"}


def test_check_transition__finished_job_message():
    with pytest.raises(InvalidTransition, match="already succeeded") as info:
        states.check_transition("succeeded", "cancelled", job_id="abc")
    assert info.value.current == "succeeded"
    assert "abc" in str(info.value)


def test_active_states__are_the_non_finished_ones():
    assert set(states.ACTIVE_STATES) | set(states.FINISHED_STATES) == set(State.values)
