"""Batches in a worker process: claim several jobs at once, record their successes together,
put back what a killed process held, and honour a cancel that arrives before a job starts."""

import multiprocessing
import signal
import time

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from django_jobs import db, signals
from django_jobs.models import Job, JobAttempt, Outcome
from django_jobs.worker import loop as loop_module
from django_jobs.worker import maintenance
from django_jobs.worker.completions import Completions
from django_jobs.worker.execute import Result
from django_jobs.worker.loop import LoopOptions, WorkerLoop
from django_jobs.worker.protocol import Slot
from django_jobs.worker.supervisor import Child, Supervisor
from tests.testapp import jobs as defs
from tests.testapp.models import Note

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = "host.1.abc/1"


def make_loop(pace: float = 0.0, slot: Slot | None = None) -> WorkerLoop:
    loop = WorkerLoop(WORKER, LoopOptions(recurring=False, idle_interval=0.1), slot or Slot())
    loop.pace = pace
    return loop


def claim(limit: int) -> list[Job]:
    ops = db.for_connection(connection)
    return ops.claim_jobs(connection, queues=None, limit=limit, worker=WORKER, now=timezone.now())


def success(value: object = None) -> Result:
    return Result(Outcome.SUCCEEDED, value=value, started_at=timezone.now())


def test_batch_size__one_until_the_pace_is_known_then_what_fits_the_window():
    assert make_loop().batch_size() == 1
    assert make_loop(pace=0.01).batch_size() == 5  # 50 ms of 10 ms jobs
    assert make_loop(pace=0.0001).batch_size() == 51  # capped at 1 + PREFETCH (50)
    assert make_loop(pace=2.0).batch_size() == 1
    with override_settings(DJANGO_JOBS_PREFETCH=0):
        assert make_loop(pace=0.0001).batch_size() == 1
    with override_settings(DJANGO_JOBS_PREFETCH=3):
        assert make_loop(pace=0.0001).batch_size() == 4


def test_turn__claims_a_batch_and_records_each_success_once():
    jobs = defs.record_run.enqueue_many([[f"t{i}"] for i in range(8)])
    loop = make_loop(pace=0.001)
    assert loop.turn() == 8
    assert Note.objects.count() == 8
    for job in Job.objects.filter(pk__in=[j.pk for j in jobs]):
        assert (job.state, job.attempts, job.claim_token) == ("succeeded", 1, None)
        assert job.result == job.args[0]
        assert job.started_at <= job.finished_at
    attempts = JobAttempt.objects.filter(job__in=jobs)
    assert attempts.count() == 8
    assert {a.outcome for a in attempts} == {"succeeded"}
    # Each job's own start is recorded, not the batch's claim time: they ran one by one.
    starts = sorted(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("started_at"))
    assert len(set(starts)) == 8


def test_completions__write_many_in_one_flush_and_announce_after_it():
    defs.add.enqueue_many([[i, i] for i in range(5)])
    claimed = claim(5)
    heard = []

    def listener(sender, job, result, **kwargs):
        heard.append((job.pk, result))

    signals.job_succeeded.connect(listener)
    try:
        batch = Completions(WORKER)
        for job in claimed:
            batch.add(job, defs.add, success(job.args[0] * 2))
        assert heard == [] and Job.objects.filter(state="running").count() == 5
        assert batch.flush() == 5
    finally:
        signals.job_succeeded.disconnect(listener)
    assert len(batch) == 0
    assert sorted(heard, key=str) == sorted(((j.pk, j.args[0] * 2) for j in claimed), key=str)
    stored = Job.objects.filter(pk__in=[j.pk for j in claimed])
    assert {(j.state, j.result) for j in stored} == {("succeeded", i * 2) for i in range(5)}
    assert JobAttempt.objects.filter(job__in=claimed, outcome="succeeded").count() == 5


def test_completions__a_job_rescued_meanwhile_is_left_alone():
    defs.add.enqueue_many([[1, 1], [2, 2]])
    kept, rescued = claim(2)
    Job.objects.filter(pk=rescued.pk).update(state="queued", claim_token=None, worker=None)
    batch = Completions(WORKER)
    batch.add(kept, defs.add, success(2))
    batch.add(rescued, defs.add, success(4))
    assert batch.flush() == 1
    assert Job.objects.get(pk=kept.pk).state == "succeeded"
    assert Job.objects.get(pk=rescued.pk).state == "queued"
    assert not JobAttempt.objects.filter(job=rescued).exists()


def test_completions__a_none_result_is_stored_as_null():
    defs.add.enqueue(1, 1)
    (job,) = claim(1)
    batch = Completions(WORKER)
    batch.add(job, defs.add, success(None))
    batch.flush()
    assert Job.objects.filter(pk=job.pk, result__isnull=True).exists()


def test_turn__a_claimed_job_cancelled_before_it_starts_is_not_run():
    target = defs.record_run.using(priority=-1).enqueue("target")
    defs.cancel_by_id.enqueue(str(target.pk))
    slot = Slot(cancels=multiprocessing.Value("i", 0))
    loop = make_loop(pace=0.001, slot=slot)
    # cancel_by_id runs first and asks; the supervisor, seeing a request for a claimed job
    # that is not the running one, bumps the counter (done here in advance).
    slot.cancels.value = 1
    assert loop.turn() == 1
    target.refresh_from_db()
    assert target.state == "cancelled"
    assert not Note.objects.filter(text="target").exists()
    (attempt,) = JobAttempt.objects.filter(job=target)
    assert (attempt.outcome, attempt.error_message) == ("cancelled", "cancelled before it started")


@pytest.mark.parametrize("definition", [defs.long_stop, defs.long_requeue])
def test_run_one__a_sigterm_between_the_claim_and_the_body_puts_the_job_back(
    monkeypatch, definition
):
    job = definition.enqueue(5)
    loop = make_loop()
    (claimed,) = loop.claim(None, 1)
    real_execute = loop_module.execute

    def term_then_execute(*args):
        loop._on_term(signal.SIGTERM, None)  # its policy is set, its code not started yet
        return real_execute(*args)

    monkeypatch.setattr(loop_module, "execute", term_then_execute)
    started = time.monotonic()
    loop.run_one(claimed)
    assert time.monotonic() - started < 4  # the 5 s body never ran
    job.refresh_from_db()
    assert job.state == "queued"  # on_shutdown is for running jobs: this one had not started
    (attempt,) = JobAttempt.objects.filter(job=job)
    assert attempt.outcome == "interrupted"


def test_run_one__a_job_reached_after_a_sigterm_is_handed_back_unstarted():
    job = defs.long_stop.enqueue(5)
    loop = make_loop()
    (claimed,) = loop.claim(None, 1)
    loop._on_term(signal.SIGTERM, None)  # after _run_claimed looked, before run_one
    assert loop.run_one(claimed) == 0
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("queued", 0)
    assert not JobAttempt.objects.filter(job=job).exists()


def test_body__an_interruption_left_after_a_job_does_not_reach_the_next():
    from django_jobs.context import body
    from django_jobs.worker.execute import run_attempt

    body.pending = RuntimeError("left over")
    body.stop()
    job = defs.add.enqueue(2, 3)
    assert run_attempt(job, defs.add).ok


def test_end_process_jobs__ends_the_running_job_and_puts_back_the_rest():
    defs.add.enqueue_many([[i, i] for i in range(3)])
    running, waiting, ran = claim(3)
    ended = maintenance.end_process_jobs(WORKER, [running.pk], Outcome.TIMEOUT, "stopped hard")
    assert ended == 3
    (attempt,) = JobAttempt.objects.filter(job=running)
    assert (attempt.outcome, attempt.error_message) == ("timeout", "stopped hard")
    for job in (waiting, ran):
        job.refresh_from_db()
        assert (job.state, job.attempts, job.worker, job.claim_token) == ("queued", 0, None, None)
        assert not JobAttempt.objects.filter(job=job).exists()


def test_put_back__a_job_asked_to_cancel_is_cancelled_instead():
    defs.add.enqueue_many([[1, 1], [2, 2]])
    asked, other = claim(2)
    Job.objects.filter(pk=asked.pk).update(cancel_requested_at=timezone.now())
    assert maintenance.put_back(WORKER) == 1
    assert Job.objects.get(pk=asked.pk).state == "cancelled"
    assert Job.objects.get(pk=other.pk).state == "queued"


def test_supervisor__interrupts_the_running_job_and_tells_the_process_of_the_others():
    defs.add.enqueue_many([[1, 1], [2, 2]])
    running, waiting = claim(2)
    fork = multiprocessing.get_context("fork")
    slot = Slot(current=fork.RawArray("c", 16), cancels=fork.Value("i", 0))
    slot.set_current(running.pk)
    process = fork.Process(target=time.sleep, args=(30,))  # SIGUSR1 ends it
    process.start()
    supervisor = Supervisor(LoopOptions(), concurrency=1)
    supervisor.children = [Child(WORKER, process, slot)]
    try:
        # A job waiting in the batch: the process is told (it looks before starting it).
        Job.objects.filter(pk=waiting.pk).update(cancel_requested_at=timezone.now())
        supervisor.watchdog.watch_jobs()
        supervisor.watchdog.watch_jobs()
        assert slot.cancels.value == 1 and process.is_alive()
        # The running job: the process is signalled.
        Job.objects.filter(pk=running.pk).update(cancel_requested_at=timezone.now())
        supervisor.watchdog.watch_jobs()
        process.join(10)
        assert process.exitcode == -signal.SIGUSR1
    finally:
        if process.is_alive():
            process.kill()


def test_turn__runs_what_an_earlier_turn_claimed_before_claiming_more():
    defs.record_run.enqueue_many([["a"], ["b"], ["c"]])
    loop = make_loop(pace=0.001)
    loop.claimed = claim(2)  # as left by a turn the database interrupted
    assert loop.turn() == 2
    assert sorted(Note.objects.values_list("text", flat=True)) == ["a", "b"]
    assert Job.objects.filter(state="queued").count() == 1
    assert loop.turn() == 1


def test_run__hands_back_what_it_claimed_but_did_not_start_when_it_stops():
    defs.record_run.enqueue_many([["a"], ["b"]])
    loop = make_loop()
    loop.claimed = claim(2)
    loop.stopping = True
    loop.run()
    for job in Job.objects.all():
        assert (job.state, job.attempts, job.worker) == ("queued", 0, None)
    assert not Note.objects.exists()
