"""How an idle worker process waits: on its engine's listener (LISTEN on PostgreSQL) where
the engine has ``wakeups``, a jittered sleep elsewhere. A waiter can be woken by some
payloads only (the supervisor, by requests to cancel): the others do not end its wait.

Polling stays the source of truth: a missed notification costs at most one idle interval.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from django.db import connections

from django_jobs import db
from django_jobs.conf import jobs_settings
from django_jobs.logs import log_event


def jittered(seconds: float) -> float:
    """``seconds`` give or take 20 %, so idle workers do not poll in step."""
    return seconds * random.uniform(0.8, 1.2)


class Waiter:
    """``wait(seconds)`` returns early when a wake-up arrives (an enqueue's NOTIFY), or only
    one whose payload ``wakes`` accepts."""

    def __init__(self, alias: str, wakes: Callable[[str], bool] | None = None) -> None:
        self.alias = alias
        self.wakes = wakes
        self.listener: Any = None
        self.retry_at = 0.0
        self.engine = db.for_connection(connections[alias])
        self.enabled = self.engine.capabilities.wakeups and jobs_settings.USE_LISTEN_NOTIFY

    def wait(self, seconds: float, *, jitter: bool = True) -> bool:
        """Sleep up to ``seconds`` (jittered); ``True`` when woken by a notification."""
        seconds = jittered(seconds) if jitter else seconds
        listener = self._listener()
        if listener is None:
            time.sleep(seconds)
            return False
        try:
            return self._wait(listener, seconds)
        except Exception as exc:  # the connection broke: poll until it can be made again
            log_event("worker.listen_lost", logging.WARNING, error=str(exc))
            self.close()
            self.retry_at = time.monotonic() + 5
            return False

    def _wait(self, listener: Any, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            payloads = listener.wait(seconds)
            if not payloads:
                return False
            if self.wakes is None or any(map(self.wakes, payloads)):
                return True
            seconds = deadline - time.monotonic()  # not for this waiter: wait on
            if seconds <= 0:
                return False

    def _listener(self) -> Any:
        if not self.enabled or self.listener is not None or time.monotonic() < self.retry_at:
            return self.listener
        try:
            self.listener = self.engine.listen(self.alias)
            if self.listener is None:  # psycopg2 only: poll (system check W003 says so)
                self.enabled = False
        except Exception as exc:  # the server is away: poll instead
            log_event("worker.listen_unavailable", logging.WARNING, error=str(exc))
            self.retry_at = time.monotonic() + 5
        return self.listener

    def close(self) -> None:
        if self.listener is not None:
            try:
                self.listener.close()
            finally:
                self.listener = None
