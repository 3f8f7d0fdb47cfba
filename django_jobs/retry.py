"""Retry backoff: pure functions, no ORM, no clock reads.

The delay before retry number ``n`` (``n = 1`` is the first retry) is::

    min(strategy(retry_delay, n), max_retry_delay)

with ``strategy`` one of

* ``CONSTANT``            ``retry_delay``
* ``LINEAR``              ``retry_delay * n``
* ``EXPONENTIAL``         ``retry_delay * 2 ** (n - 1)``          (the default)
* ``EXPONENTIAL_JITTER``  a uniform random value in ``[d/2, d]`` where ``d`` is the
  capped exponential delay ("equal jitter": retries of many jobs spread out, none at once)

``retry_delay=None`` retries at once (delay 0) whatever the strategy.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable


class Backoff(str, enum.Enum):
    """How the delay between retries grows."""

    CONSTANT = "constant"
    LINEAR = "linear"
    EXPONENTIAL = "exponential"
    EXPONENTIAL_JITTER = "exponential_jitter"

    def __str__(self) -> str:
        return self.value


def retry_delay_seconds(
    strategy: Backoff | str,
    retry_delay: float | None,
    retry_number: int,
    max_retry_delay: float,
    *,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry ``retry_number`` (1-based); see the module docstring."""
    if retry_delay is None or retry_delay <= 0:
        return 0.0
    strategy = Backoff(strategy)
    n = max(1, retry_number)
    if strategy is Backoff.CONSTANT:
        delay = float(retry_delay)
    elif strategy is Backoff.LINEAR:
        delay = float(retry_delay) * n
    else:
        # Cap the exponent so huge retry counts cannot overflow a float.
        delay = float(retry_delay) * 2.0 ** min(n - 1, 64)
    delay = min(delay, float(max_retry_delay))
    if strategy is Backoff.EXPONENTIAL_JITTER:
        delay = delay / 2 + rand() * delay / 2
    return delay


def recurring_backoff_seconds(consecutive_failures: int) -> float:
    """Wait before the next run of a failing ``RecurringJob``: ``min(2 ** failures, 300)``."""
    if consecutive_failures <= 0:
        return 0.0
    return float(min(2 ** min(consecutive_failures, 16), 300))
