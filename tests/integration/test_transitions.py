"""Every transition of ``django_jobs.models.transitions``: allowed, and refused when the row moved.

Refused means: ``apply`` returns ``False`` (``apply_many`` 0) and the row is left exactly as
it was.
"""

import uuid

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from django_jobs.models import Job
from django_jobs.models import transitions as t
from django_jobs.states import State

pytestmark = pytest.mark.django_db

#: A state each source state can be moved to by someone else meanwhile.
ELSEWHERE = {
    State.SCHEDULED: State.QUEUED,
    State.QUEUED: State.RUNNING,
    State.RUNNING: State.SUCCEEDED,
}

#: The fields each transition is given by its callers (a representative set).
FIELDS = {
    "stage": {},
    "run_now": {"run_at": "now"},
    "cancel": {"finished_at": "now", "last_error": "cancelled"},
    "replace": {"finished_at": "now", "last_error": "replaced"},
    "claim": {"claim_token": "token", "worker": "w1", "started_at": "now", "attempts": 1},
    "succeed": {"result": 3, "finished_at": "now", "claim_token": None},
    "fail": {"last_error": "boom", "finished_at": "now", "claim_token": None},
    "cancel_running": {"last_error": "cancelled", "finished_at": "now", "claim_token": None},
    "retry_later": {"run_at": "now", "claim_token": None, "worker": None},
    "retry_now": {"run_at": "now", "claim_token": None, "worker": None},
    "defer": {"run_at": "now", "claim_token": None, "worker": None},
    "put_back": {"claim_token": None, "worker": None},
}

CASES = [(name, source) for name, tr in t.ALL.items() for source in tr.sources]


def _fields(name):
    now, token = timezone.now(), uuid.uuid4()
    return {k: now if v == "now" else token if v == "token" else v for k, v in FIELDS[name].items()}


def _row(state):
    running = state == State.RUNNING
    return Job.objects.create(
        name="tests.testapp.jobs.add",
        queue="default",
        state=state,
        claim_token=uuid.uuid4() if running else None,
        worker="w0" if running else None,
    )


def _stored(job):
    return model_to_dict(Job.objects.get(pk=job.pk))


def test_fields__every_transition_has_a_case():
    assert set(FIELDS) == set(t.ALL)


@pytest.mark.parametrize(("name", "source"), CASES)
def test_apply__moves_a_row_from_the_state_the_caller_saw(name, source):
    transition = t.ALL[name]
    job = _row(source)
    fields = _fields(name)
    assert transition.apply(job, **fields) is True
    assert job.state == transition.target
    stored = Job.objects.get(pk=job.pk)
    assert stored.state == transition.target
    for field, value in fields.items():
        assert getattr(stored, field) == value, field
        assert getattr(job, field) == value, field


@pytest.mark.parametrize(("name", "source"), CASES)
def test_apply__refused_when_the_row_moved_since_it_was_read(name, source):
    transition = t.ALL[name]
    stale = _row(source)
    Job.objects.filter(pk=stale.pk).update(state=ELSEWHERE[source])
    before = _stored(stale)
    assert transition.apply(stale, **_fields(name)) is False
    assert _stored(stale) == before
    assert stale.state == source  # the object is not touched either


@pytest.mark.parametrize("name", [n for n, tr in t.ALL.items() if tr.fenced])
def test_apply__fenced_refused_without_the_rows_claim_token(name):
    transition = t.ALL[name]
    job = _row(State.RUNNING)
    before = _stored(job)
    job.claim_token = uuid.uuid4()  # the job was rescued and claimed again meanwhile
    assert transition.apply(job, **_fields(name)) is False
    assert _stored(job) == before


@pytest.mark.parametrize("name", list(t.ALL))
def test_apply__refused_from_a_state_it_does_not_start_from(name):
    transition = t.ALL[name]
    others = [s for s in State.values if s not in transition.sources]
    for state in others:
        job = _row(state)
        before = _stored(job)
        assert transition.apply(job, **_fields(name)) is False, state
        assert _stored(job) == before


@pytest.mark.parametrize("name", list(t.ALL))
def test_apply_many__moves_only_rows_in_a_source_state(name):
    transition = t.ALL[name]
    rows = {state: _row(state) for state in State.values}
    fields = {k: v for k, v in _fields(name).items() if k != "claim_token"}
    query = Job.objects.filter(pk__in=[r.pk for r in rows.values()])
    moved = transition.apply_many(query, **fields)
    assert moved == len(transition.sources)
    for state, row in rows.items():
        expected = transition.target if state in transition.sources else state
        assert Job.objects.get(pk=row.pk).state == expected, state


def test_apply__state_is_not_a_field_it_takes():
    job = _row(State.QUEUED)
    with pytest.raises(TypeError):
        t.CANCEL.apply(job, state=State.FAILED)
    assert Job.objects.get(pk=job.pk).state == State.QUEUED


def test_request_cancel__asks_a_running_job_only():
    running, queued = _row(State.RUNNING), _row(State.QUEUED)
    now = timezone.now()
    assert t.request_cancel(running, now) is True
    assert Job.objects.get(pk=running.pk).cancel_requested_at == now
    stale = Job.objects.get(pk=running.pk)
    Job.objects.filter(pk=running.pk).update(state=State.SUCCEEDED, cancel_requested_at=None)
    assert t.request_cancel(stale, now) is False
    assert Job.objects.get(pk=running.pk).cancel_requested_at is None
    assert t.request_cancel(queued, now) is False
    assert Job.objects.get(pk=queued.pk).cancel_requested_at is None
