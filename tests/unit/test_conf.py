from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_jobs.conf import SETTINGS, invalid_settings, jobs_settings, unknown_settings


def test_settings__defaults():
    assert jobs_settings.DATABASE == "default"
    assert jobs_settings.WORKER_TIMEOUT == 30
    assert timedelta(days=7) == jobs_settings.DEFAULT_RESULT_TTL


def test_settings__kept_until_a_setting_changes():
    assert jobs_settings.WORKER_TIMEOUT == 30  # read and kept
    with override_settings(DJANGO_JOBS_WORKER_TIMEOUT=12):
        assert jobs_settings.WORKER_TIMEOUT == 12
    assert jobs_settings.WORKER_TIMEOUT == 30


def test_settings__an_invalid_value_raises_on_every_access():
    with override_settings(DJANGO_JOBS_WORKER_TIMEOUT="soon"):
        for _ in range(2):
            with pytest.raises(ImproperlyConfigured):
                jobs_settings.WORKER_TIMEOUT


def test_settings__invalid_value_names_the_setting():
    with (
        override_settings(DJANGO_JOBS_WORKER_TIMEOUT="soon"),
        pytest.raises(ImproperlyConfigured, match="DJANGO_JOBS_WORKER_TIMEOUT must be a number"),
    ):
        jobs_settings.WORKER_TIMEOUT


def test_settings__unknown_attribute():
    with pytest.raises(AttributeError, match="DJANGO_JOBS_NOPE"):
        jobs_settings.NOPE


def test_settings__ttl_accepts_seconds_and_none():
    with override_settings(DJANGO_JOBS_DEFAULT_RESULT_TTL=60):
        assert timedelta(seconds=60) == jobs_settings.DEFAULT_RESULT_TTL
    with override_settings(DJANGO_JOBS_DEFAULT_RESULT_TTL=None):
        assert jobs_settings.DEFAULT_RESULT_TTL is None


def test_invalid_settings__lists_problems():
    with override_settings(DJANGO_JOBS_INLINE="yes", DJANGO_JOBS_PREFETCH=-1):
        names = {name for name, _ in invalid_settings()}
    assert names == {"DJANGO_JOBS_INLINE", "DJANGO_JOBS_PREFETCH"}


def test_unknown_settings__suggests_the_closest():
    with override_settings(DJANGO_JOBS_WORKER_TIMOUT=5):
        assert unknown_settings() == [("DJANGO_JOBS_WORKER_TIMOUT", "DJANGO_JOBS_WORKER_TIMEOUT")]


def test_every_setting_has_a_doc():
    for setting in SETTINGS.values():
        assert setting.doc.endswith(".")
        setting.validate(setting.default)  # defaults are valid


@pytest.mark.parametrize(
    ("name", "intended"),
    [
        ("DJANGO_JOB_INLINE", "DJANGO_JOBS_INLINE"),
        ("DJANGOJOBS_INLINE", "DJANGO_JOBS_INLINE"),
        ("DJANGO_JOBSINLINE", "DJANGO_JOBS_INLINE"),
        ("DJANGO_JOBSS_INLINE", "DJANGO_JOBS_INLINE"),
        ("JOBS_INLINE", "DJANGO_JOBS_INLINE"),
        ("JOB_DATABASE", "DJANGO_JOBS_DATABASE"),
        ("DJANGO_JOB_WORKER_TIMOUT", "DJANGO_JOBS_WORKER_TIMEOUT"),
    ],
)
def test_misspelled_prefix_settings__suggests_the_intended_name(name, intended):
    from django_jobs.conf import misspelled_prefix_settings

    with override_settings(**{name: True}):
        assert misspelled_prefix_settings() == [(name, intended)]


def test_misspelled_prefix_settings__leaves_other_settings_alone():
    from django_jobs.conf import misspelled_prefix_settings

    others = {
        "CELERY_WORKER_TIMEOUT": 1,
        "RQ_DEFAULT_QUEUE": "x",
        "DJANGO_INLINE": True,
        "JOBSITE_URL": "x",
        "DJANGO_JOBS_INLINE": True,
    }
    with override_settings(**others):
        assert misspelled_prefix_settings() == []
