"""runjobs as a real process: retries, dead letters, poison rows, limits, options, kill -9."""

import os
import signal
import threading

import pytest

from django_jobs.models import DeadLetter, Job, JobAttempt, Worker
from tests.acceptance.conftest import wait_for
from tests.testapp import jobs as defs
from tests.testapp.models import Note

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]


def _burst(workers, *args, timeout=120):
    done = workers.run("--burst", "--concurrency", "1", *args, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_retries__exhausted_job_fails_with_a_dead_letter(workers):
    job = defs.always_fails.enqueue("boom")
    _burst(workers)
    job.refresh_from_db()
    assert job.state == "failed"
    attempts = list(JobAttempt.objects.filter(job=job).order_by("number"))
    assert [a.number for a in attempts] == [1, 2, 3]
    assert {a.outcome for a in attempts} == {"failed"}
    assert all(a.traceback.strip() for a in attempts)
    assert all("boom" in a.error_message for a in attempts)
    dead = DeadLetter.objects.get(job=job)
    assert dead.name == defs.always_fails.name
    assert "boom" in dead.reason


def test_retries__retry_on_limits_which_exceptions_retry(workers):
    value = defs.fails_with.enqueue("value")
    connection = defs.fails_with.enqueue("connection")
    _burst(workers)
    value.refresh_from_db()
    connection.refresh_from_db()
    assert (value.state, value.attempts) == ("failed", 1)
    assert JobAttempt.objects.filter(job=value).count() == 1
    assert (connection.state, connection.attempts) == ("failed", 4)
    assert JobAttempt.objects.filter(job=connection, outcome="failed").count() == 4


def test_poison__unknown_definition_fails_and_the_worker_goes_on(workers):
    bad = defs.add.enqueue(1, 2)
    Job.objects.filter(pk=bad.pk).update(name="gone.away")
    after = defs.add.enqueue(2, 3)
    _burst(workers)
    bad.refresh_from_db()
    after.refresh_from_db()
    assert bad.state == "failed"
    assert "no worker process knows definition" in bad.last_error
    assert JobAttempt.objects.filter(job=bad).count() == 1
    assert (after.state, after.result) == ("succeeded", 5)


def test_poison__newer_version_is_left_for_another_worker(workers):
    job = defs.add.enqueue(1, 2)
    Job.objects.filter(pk=job.pk).update(version=99)
    _burst(workers)
    job.refresh_from_db()
    assert job.state in ("scheduled", "queued")
    assert job.attempts == 0
    assert JobAttempt.objects.filter(job=job).count() == 0


def test_poison__corrupt_stored_arguments_fail_the_job(workers):
    bad = defs.add.enqueue(1, 2)
    Job.objects.filter(pk=bad.pk).update(args={"not": "a list"})
    after = defs.add.enqueue(2, 3)
    _burst(workers)
    bad.refresh_from_db()
    after.refresh_from_db()
    assert bad.state == "failed"
    assert "stored arguments are corrupt" in bad.last_error
    assert JobAttempt.objects.filter(job=bad).count() == 1
    assert after.state == "succeeded"


def test_poison__result_that_is_not_json_fails_the_attempt(workers):
    bad = defs.returns_set.enqueue()
    after = defs.add.enqueue(2, 3)
    _burst(workers)
    bad.refresh_from_db()
    after.refresh_from_db()
    assert bad.state == "failed"
    assert "cannot be stored as JSON" in bad.last_error
    assert bad.result is None
    assert after.state == "succeeded"


def test_runjobs__max_jobs_runs_that_many_then_exits_zero(workers):
    defs.record_run.enqueue_many([[f"t{i}"] for i in range(20)])
    done = workers.run("--max-jobs", "5", "--concurrency", "2", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert Note.objects.count() == 5
    assert Job.objects.filter(state="succeeded").count() == 5
    assert Job.objects.filter(state="queued").count() == 15
    assert JobAttempt.objects.count() == 5


def test_runjobs__queue_option_serves_only_that_queue(workers):
    mail = defs.send_email.enqueue("a@example.com")
    other = defs.add.enqueue(1, 2)
    assert (mail.queue, other.queue) == ("mail", "default")
    done = _burst(workers, "--queue", "mail")
    assert "queues: mail" in done.stdout
    mail.refresh_from_db()
    other.refresh_from_db()
    assert mail.state == "succeeded"
    assert (other.state, other.attempts) == ("queued", 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--concurrency", "0"), "must be at least 1, got 0"),
        (("--idle-interval", "abc"), "'abc' is not a number of seconds"),
        (("--queue", "bad name!"), "'bad name!' is not a valid queue name"),
        (("--role", "nosuchrole"), "unknown role 'nosuchrole'"),
        (("--queue", "a", "--role", "b"), "give either --queue or --role, not both"),
    ],
    ids=["concurrency-0", "idle-interval-abc", "bad-queue-name", "unknown-role", "queue-and-role"],
)
def test_runjobs__bad_options_are_refused_before_starting(workers, args, message):
    job = defs.add.enqueue(1, 2)
    done = workers.run(*args, "--burst", timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert message in output
    assert "Traceback" not in output
    assert "django_jobs worker" not in output  # no start banner
    assert not Worker.objects.exists()
    job.refresh_from_db()
    assert job.state == "queued"


def test_supervisor__replaces_a_killed_process_and_requeues_its_job(workers):
    job = defs.long_finish.enqueue(30)
    process = workers.start("--concurrency", "1")
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "running")
    job.refresh_from_db()
    child = Worker.objects.get(supervisor__isnull=False, state="running")
    assert child.pk == job.worker
    assert child.pid

    os.kill(child.pid, signal.SIGKILL)

    wait_for(
        lambda: Job.objects.filter(pk=job.pk, state="running", attempts=2).exists(), timeout=60
    )
    lost = JobAttempt.objects.get(job=job)
    assert (lost.number, lost.outcome, lost.worker) == (1, "lost", child.pk)
    job.refresh_from_db()
    replacement = Worker.objects.get(pk=job.worker)
    assert replacement.pk != child.pk
    assert replacement.supervisor_id == child.supervisor_id
    assert replacement.state == "running"
    assert replacement.pid not in (0, child.pid)
    assert Worker.objects.get(pk=child.pk).state in ("stopped", "dead")

    os.kill(process.pid, signal.SIGTERM)
    os.kill(process.pid, signal.SIGINT)  # a second signal: stop at once, requeueing
    assert process.wait(timeout=30) == 0, output
