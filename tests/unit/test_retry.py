import pytest

from django_jobs.retry import Backoff, recurring_backoff_seconds, retry_delay_seconds


@pytest.mark.parametrize(
    ("strategy", "n", "expected"),
    [
        (Backoff.CONSTANT, 1, 10),
        (Backoff.CONSTANT, 5, 10),
        (Backoff.LINEAR, 1, 10),
        (Backoff.LINEAR, 3, 30),
        (Backoff.EXPONENTIAL, 1, 10),
        (Backoff.EXPONENTIAL, 2, 20),
        (Backoff.EXPONENTIAL, 4, 80),
    ],
)
def test_retry_delay__strategies(strategy, n, expected):
    assert retry_delay_seconds(strategy, 10, n, 3600) == expected


def test_retry_delay__capped_by_max():
    assert retry_delay_seconds(Backoff.EXPONENTIAL, 10, 20, 300) == 300


def test_retry_delay__huge_retry_number_does_not_overflow():
    assert retry_delay_seconds(Backoff.EXPONENTIAL, 10, 10_000, 300) == 300


def test_retry_delay__none_retries_at_once():
    assert retry_delay_seconds(Backoff.EXPONENTIAL, None, 3, 300) == 0


def test_retry_delay__jitter_between_half_and_full():
    assert retry_delay_seconds(Backoff.EXPONENTIAL_JITTER, 10, 3, 3600, rand=lambda: 0.0) == 20
    assert retry_delay_seconds(Backoff.EXPONENTIAL_JITTER, 10, 3, 3600, rand=lambda: 1.0) == 40


def test_retry_delay__jitter_respects_cap():
    assert retry_delay_seconds(Backoff.EXPONENTIAL_JITTER, 10, 30, 100, rand=lambda: 1.0) == 100


def test_retry_delay__accepts_strategy_word():
    assert retry_delay_seconds("linear", 2, 3, 100) == 6


@pytest.mark.parametrize(
    ("failures", "expected"), [(0, 0), (1, 2), (3, 8), (8, 256), (9, 300), (100, 300)]
)
def test_recurring_backoff__min_two_power_failures_300(failures, expected):
    assert recurring_backoff_seconds(failures) == expected
