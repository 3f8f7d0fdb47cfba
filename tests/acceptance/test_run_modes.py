"""Async and thread jobs sharing one worker process: every guarantee per job, with real
``runjobs`` processes."""

import os
import signal
import time

import pytest
from django.db import connection

from django_jobs.models import Job, JobAttempt, Worker
from tests.acceptance.conftest import wait_for
from tests.testapp import mode_jobs as defs
from tests.testapp.models import Note

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


def state(job):
    return Job.objects.get(pk=job.pk).state


def results(jobs):
    return [Job.objects.get(pk=job.pk).result for job in jobs]


def all_overlap(spans):
    """Every job's code started before any ended: they all ran at the same time."""
    return max(s["start"] for s in spans) < min(s["end"] for s in spans)


def child_pids():
    """The pids of the worker processes (not their supervisor) that run now."""
    rows = Worker.objects.exclude(state="stopped").filter(id__contains="/")
    return [pid for pid in rows.values_list("pid", flat=True) if pid]


def server_connections():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("definition", [defs.async_nap, defs.thread_nap])
def test_slots__one_process_runs_many_jobs_at_once(workers, definition):
    jobs = definition.enqueue_many([[2.0]] * 8)
    done = workers.run("--burst", "--concurrency", "1", "--slots", "8", timeout=90)
    assert done.returncode == 0, done.stderr
    assert {state(j) for j in jobs} == {"succeeded"}, done.stderr
    assert all_overlap(results(jobs))
    assert JobAttempt.objects.filter(job__in=jobs, outcome="succeeded").count() == 8


def test_slots__never_more_jobs_at_once_than_slots(workers):
    jobs = defs.async_nap.enqueue_many([[0.5]] * 9)
    done = workers.run("--burst", "--concurrency", "1", "--slots", "3", timeout=90)
    assert done.returncode == 0, done.stderr
    spans = results(jobs)
    for mine in spans:  # at no job's start were more than 3 running
        at_once = [s for s in spans if s["start"] <= mine["start"] < s["end"]]
        assert len(at_once) <= 3


def test_process_mode__runs_alone_even_beside_slots(workers):
    from tests.testapp import jobs as plain

    naps = defs.async_nap.enqueue_many([[1.0]] * 4)
    alone = plain.nap.enqueue(0.5)
    done = workers.run("--burst", "--concurrency", "1", "--slots", "4", timeout=90)
    assert done.returncode == 0, done.stderr
    ran = Job.objects.get(pk=alone.pk)
    assert ran.state == "succeeded"
    for nap in Job.objects.filter(pk__in=[j.pk for j in naps]):
        # No async job ran while the "process" job did.
        assert nap.finished_at <= ran.started_at or nap.started_at >= ran.finished_at


def test_thread_jobs__use_the_orm_and_atomic_holds(workers):
    wrote = defs.thread_writes_note.enqueue_many([[f"note {i}"] for i in range(6)])
    kept = defs.thread_atomic_note.enqueue("kept", False)
    rolled = defs.thread_atomic_note.enqueue("rolled back", True)
    done = workers.run("--burst", "--concurrency", "1", "--slots", "6", timeout=90)
    assert done.returncode == 0, done.stderr
    assert {state(j) for j in wrote} == {"succeeded"}
    assert state(kept) == "succeeded" and state(rolled) == "failed"
    texts = set(Note.objects.values_list("text", flat=True))
    assert {f"note {i}" for i in range(6)} | {"kept"} == texts


def test_async_jobs__heartbeat_with_the_async_orm(workers):
    jobs = defs.async_heartbeats.enqueue_many([[]] * 5)
    done = workers.run("--burst", "--concurrency", "1", "--slots", "5", timeout=90)
    assert done.returncode == 0, done.stderr
    for row in Job.objects.filter(pk__in=[j.pk for j in jobs]):
        assert row.state == "succeeded" and row.heartbeat_at is not None


@pytest.mark.parametrize("definition", [defs.async_times_out, defs.thread_times_out])
def test_soft_timeout__raised_inside_the_job_others_run_on(workers, definition):
    late = definition.enqueue()
    others = defs.async_nap.enqueue_many([[1.0]] * 3)
    done = workers.run("--burst", "--concurrency", "1", "--slots", "4", timeout=90, log=True)
    assert done.returncode == 0, done.stderr
    (attempt,) = JobAttempt.objects.filter(job=late)
    assert attempt.outcome == "timeout", done.stderr
    assert "exceeded its timeout of 0.3 s" in attempt.error_message
    assert {state(j) for j in others} == {"succeeded"}
    assert "worker.process_killed" not in done.stderr, done.stderr


@pytest.mark.parametrize("definition", [defs.thread_stuck, defs.async_ignores_timeout])
def test_hard_timeout__replaces_the_process_others_go_back_uncounted(
    workers, monkeypatch, definition
):
    monkeypatch.setenv("DJANGO_JOBS_TIMEOUT_GRACE", "1")
    stuck = definition.enqueue()
    others = defs.thread_nap.enqueue_many([[6.0]] * 3)
    process = workers.start("--concurrency", "1", "--slots", "4", log=True)
    wait_for(lambda: JobAttempt.objects.filter(job=stuck).exists(), timeout=60)
    (attempt,) = JobAttempt.objects.filter(job=stuck)
    assert attempt.outcome == "timeout"
    # The others were put back without an attempt of theirs counted, then ran again.
    wait_for(lambda: {state(j) for j in others} == {"succeeded"}, timeout=60)
    for other in others:
        assert JobAttempt.objects.filter(job=other).count() == 1
        assert Job.objects.get(pk=other.pk).attempts == 1
    os.kill(process.pid, signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert "worker.jobs_returned" in output, output
    assert "worker.process_killed" in output, output


@pytest.mark.parametrize("definition", ["async_waits_forever", "thread_heartbeats_forever"])
def test_cancel__reaches_one_running_job_the_others_run_on(workers, definition):
    from tests.testapp import jobs as plain

    target = getattr(defs, definition, None) or getattr(plain, definition)
    victim = target.enqueue()
    others = defs.async_nap.enqueue_many([[3.0]] * 3)
    process = workers.start("--concurrency", "1", "--slots", "4")
    wait_for(lambda: state(victim) == "running" and {state(j) for j in others} == {"running"})
    Job.objects.get(pk=victim.pk).cancel()
    wait_for(lambda: state(victim) == "cancelled", timeout=20)
    wait_for(lambda: {state(j) for j in others} == {"succeeded"}, timeout=30)
    assert all(Job.objects.get(pk=j.pk).attempts == 1 for j in others)
    os.kill(process.pid, signal.SIGTERM)
    process.communicate(timeout=30)


def test_sigterm__each_slot_job_follows_its_on_shutdown(workers):
    finish = [defs.async_long_finish.enqueue(1.5), defs.thread_long_finish.enqueue(1.5)]
    requeue = [defs.async_long_requeue.enqueue(), defs.thread_long_requeue.enqueue()]
    stop = defs.async_long_stop.enqueue()
    everyone = [*finish, *requeue, stop]
    process = workers.start("--concurrency", "1", "--slots", "5", log=True)
    wait_for(lambda: Job.objects.filter(pk__in=[j.pk for j in everyone], progress=0.0).count() == 5)
    os.kill(process.pid, signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert {state(j) for j in finish} == {"succeeded"}, output
    for job in requeue:
        row = Job.objects.get(pk=job.pk)
        assert (row.state, row.attempts) == ("queued", 1), output
    assert state(stop) == "failed", output


def test_kill9__a_process_running_ten_async_jobs_returns_all_ten(workers):
    jobs = defs.async_nap.enqueue_many([[30.0]] * 10)
    ids = [j.pk for j in jobs]
    process = workers.start("--concurrency", "1", "--slots", "10", log=True)
    wait_for(lambda: Job.objects.filter(pk__in=ids, state="running").count() == 10)
    tokens = dict(Job.objects.filter(pk__in=ids).values_list("pk", "claim_token"))
    (pid,) = child_pids()
    os.kill(pid, signal.SIGKILL)
    # All ten back (lost, retried at once) and running again under new claims.
    wait_for(
        lambda: all(
            row.claim_token not in (None, tokens[row.pk]) for row in Job.objects.filter(pk__in=ids)
        ),
        timeout=60,
    )
    for job_id in ids:
        (lost,) = JobAttempt.objects.filter(job_id=job_id)
        assert lost.outcome == "lost"
    os.kill(process.pid, signal.SIGTERM)
    process.communicate(timeout=60)


def test_blocked_event_loop__warns_naming_the_job(workers):
    blocker = defs.async_blocks_loop.enqueue(2.5)
    others = defs.async_nap.enqueue_many([[0.5]] * 3)
    done = workers.run("--burst", "--concurrency", "1", "--slots", "4", timeout=90, log=True)
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if "worker.event_loop_blocked" in line]
    assert warned and f"job={blocker.pk}" in warned[0], done.stderr
    assert {state(j) for j in others} == {"succeeded"}


def test_stalled__a_silent_async_job_stops_its_process_others_go_back(workers):
    silent = defs.async_goes_silent.enqueue()
    others = defs.async_nap.enqueue_many([[4.0]] * 2)
    process = workers.start("--concurrency", "1", "--slots", "3")
    wait_for(lambda: JobAttempt.objects.filter(job=silent).exists(), timeout=60)
    assert JobAttempt.objects.get(job=silent).outcome == "stalled"
    wait_for(lambda: {state(j) for j in others} == {"succeeded"}, timeout=60)
    assert all(Job.objects.get(pk=j.pk).attempts == 1 for j in others)
    os.kill(process.pid, signal.SIGTERM)
    process.communicate(timeout=30)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="counts server connections")
def test_connections__each_thread_job_closes_its_own(workers):
    process = workers.start("--concurrency", "1", "--slots", "10")
    wait_for(lambda: len(child_pids()) == 1)
    time.sleep(1)  # the worker's own connections are open by now
    idle = server_connections()
    jobs = defs.thread_writes_note.enqueue_many([[f"n{i}"] for i in range(20)])
    wait_for(lambda: {state(j) for j in jobs} == {"succeeded"}, timeout=60)
    time.sleep(0.5)
    assert server_connections() <= idle
    assert Note.objects.count() == 20
    os.kill(process.pid, signal.SIGTERM)
    process.communicate(timeout=30)


def most_at_once(spans):
    """The most jobs whose code ran at the same moment."""
    return max(sum(s["start"] <= mine["start"] < s["end"] for s in spans) for mine in spans)


def test_limits__a_per_worker_cap_holds_for_slot_jobs(workers):
    jobs = defs.async_capped.enqueue_many([[0.5]] * 6)
    done = workers.run("--burst", "--concurrency", "2", "--slots", "6", timeout=90)
    assert done.returncode == 0, done.stderr
    assert {state(j) for j in jobs} == {"succeeded"}
    assert most_at_once(results(jobs)) <= 2


def test_limits__a_group_key_holds_for_slot_jobs(workers):
    grouped = [defs.async_nap.using(group_key="g").enqueue(0.3) for _ in range(4)]
    free = defs.async_nap.enqueue_many([[0.3]] * 4)
    done = workers.run("--burst", "--concurrency", "2", "--slots", "8", timeout=90)
    assert done.returncode == 0, done.stderr
    assert {state(j) for j in grouped + free} == {"succeeded"}
    assert most_at_once(results(grouped)) == 1
    assert most_at_once(results(free)) > 1
