"""``DJANGO_JOBS_SLOTS`` and ``runjobs --slots``: jobs one worker process runs at once."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_jobs.conf import invalid_settings, jobs_settings
from django_jobs.management.commands.runjobs import Command


def test_slots_setting__defaults_to_ten():
    assert jobs_settings.SLOTS == 10


def test_slots_setting__takes_a_positive_integer():
    with override_settings(DJANGO_JOBS_SLOTS=1):
        assert jobs_settings.SLOTS == 1
    with override_settings(DJANGO_JOBS_SLOTS=64):
        assert jobs_settings.SLOTS == 64


@pytest.mark.parametrize("value", [0, -1, 2.5, "10", True, None])
def test_slots_setting__refuses_anything_else(value):
    with override_settings(DJANGO_JOBS_SLOTS=value):
        with pytest.raises(ImproperlyConfigured, match="DJANGO_JOBS_SLOTS must be an integer >= 1"):
            jobs_settings.SLOTS
        assert [name for name, _ in invalid_settings()] == ["DJANGO_JOBS_SLOTS"]


def parse(*args: str) -> dict:
    return vars(Command().create_parser("manage.py", "runjobs").parse_args(list(args)))


def test_runjobs_slots__given_or_none():
    assert parse("--slots", "4")["slots"] == 4
    assert parse()["slots"] is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "argument --slots: must be at least 1, got 0"),
        ("-1", "argument --slots: must be at least 1, got -1"),
        ("abc", "argument --slots: 'abc' is not a whole number"),
        ("2.5", "argument --slots: '2.5' is not a whole number"),
    ],
)
def test_runjobs_slots__bad_value_is_an_argparse_error(value, message):
    with pytest.raises(CommandError, match=f"^Error: {message}$"):
        call_command("runjobs", "--slots", value)
