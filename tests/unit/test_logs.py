"""Structured log lines: one event is always one line, whatever a value holds."""

from __future__ import annotations

import logging

import pytest

from django_jobs.logs import log_event


def _line(caplog: pytest.LogCaptureFixture, **fields: object) -> str:
    with caplog.at_level(logging.INFO, logger="django_jobs"):
        log_event("job.failed", **fields)
    (record,) = caplog.records
    return record.getMessage()


def test_log_event__plain_values_are_bare(caplog: pytest.LogCaptureFixture) -> None:
    assert _line(caplog, job=7, queue="default", duration=0.5) == (
        "job.failed job=7 queue=default duration=0.500"
    )


def test_log_event__newline_in_error_cannot_forge_a_line(caplog: pytest.LogCaptureFixture) -> None:
    line = _line(caplog, error="x\nINFO\tjob.succeeded\tjob=forged")
    assert "\n" not in line and "\t" not in line
    assert line == "job.failed error='x\\nINFO\\tjob.succeeded\\tjob=forged'"


@pytest.mark.parametrize(
    "value",
    ["default\n", "a\rb", "tab\there", "nul\x00", "line\u2028sep", "esc\x1b[31m", "bell\x07"],
)
def test_log_event__control_characters_are_escaped(
    caplog: pytest.LogCaptureFixture, value: str
) -> None:
    line = _line(caplog, queue=value)
    assert line.isprintable(), line
    assert line.startswith("job.failed queue='")


def test_log_event__quotes_and_empty_values_are_quoted(caplog: pytest.LogCaptureFixture) -> None:
    assert _line(caplog, a="", b="it's") == "job.failed a='' b=\"it's\""


def test_log_event__structured_fields_keep_the_raw_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="django_jobs"):
        log_event("job.started", queue="q\n")
    assert caplog.records[0].jobs == {"queue": "q\n"}


def test_log_event__a_long_value_is_cut_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    line = _line(caplog, error="x" * 10_000)
    assert line == f"job.failed error='{'x' * 500}...[9500 more characters]'"
