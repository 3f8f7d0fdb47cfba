"""Job definitions the benchmark enqueues and runs.

``noop`` does nothing: a drain of no-op jobs measures only the queue's own cost.
``stamp`` returns the wall-clock time at which its body ran, so a latency run can also tell
how long it took from the enqueue to the job's own code (the pickup figure itself is
``started_at - created_at``, written by django_jobs).
"""

from __future__ import annotations

import time

from django_jobs import job


@job(name="bench.noop")
def noop() -> None:
    """Do nothing."""


@job(name="bench.stamp")
def stamp() -> float:
    """Return ``time.time()`` as seen by the job body."""
    return time.time()
