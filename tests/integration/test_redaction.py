"""DJANGO_JOBS_REDACT: a job's error text is redacted before it is logged or stored."""

from __future__ import annotations

import logging
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_jobs.conf import jobs_settings
from django_jobs.models import DeadLetter, Job, JobAttempt
from django_jobs.testing import run_jobs
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db

SECRET = "https://api.example.com/v1?api_key=s3cr3t-k3y"


def hide_keys(text: str) -> str:
    return re.sub(r"api_key=[^&\s'\"]+", "api_key=***", text)


def broken_hook(text: str) -> str:
    raise KeyError("oops")


def _stored_texts(job: Job) -> list[str]:
    job.refresh_from_db()
    texts = [job.last_error]
    for attempt in JobAttempt.objects.filter(job=job):
        texts += [attempt.error_message, attempt.traceback]
    texts += [d.reason for d in DeadLetter.objects.filter(job=job)]
    return texts


@override_settings(DJANGO_JOBS_REDACT="tests.integration.test_redaction.hide_keys")
def test_redact__error_text_is_redacted_in_the_log_and_every_row(
    caplog, django_capture_on_commit_callbacks
):
    job = defs.always_fails.enqueue(f"could not reach {SECRET}")
    with (
        caplog.at_level(logging.INFO, logger="django_jobs"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run_jobs()
    texts = _stored_texts(job)
    assert len(texts) >= 4 and all("api_key=***" in t for t in texts if t)
    assert not any("s3cr3t" in t for t in texts)
    assert "api_key=***" in caplog.text and "s3cr3t" not in caplog.text


@override_settings(DJANGO_JOBS_REDACT=broken_hook)
def test_redact__a_failing_hook_withholds_the_text_and_keeps_the_worker(
    caplog, django_capture_on_commit_callbacks
):
    job = defs.always_fails.enqueue(f"could not reach {SECRET}")
    with (
        caplog.at_level(logging.INFO, logger="django_jobs"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run_jobs()
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.last_error.endswith("[error text withheld: DJANGO_JOBS_REDACT raised KeyError]")
    assert not any("s3cr3t" in t for t in _stored_texts(job))
    assert "s3cr3t" not in caplog.text
    assert "withheld" in caplog.text


def test_redact__no_hook_keeps_the_text():
    job = defs.always_fails.enqueue("plain failure")
    run_jobs()
    job.refresh_from_db()
    assert job.last_error.endswith("plain failure")


@pytest.mark.parametrize("value", ["tests.integration.no_such_module.hook", 42, "os.sep"])
def test_redact__a_bad_setting_names_itself(value):
    with (
        override_settings(DJANGO_JOBS_REDACT=value),
        pytest.raises(ImproperlyConfigured, match="DJANGO_JOBS_REDACT"),
    ):
        jobs_settings.REDACT
