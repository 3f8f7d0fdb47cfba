"""Which queues a worker process claims from: fixed ones, every queue, or a role's."""

from __future__ import annotations

import time

from django_jobs.models import Role


class QueueSelector:
    """The queues to claim from: fixed, every queue, or a role's (re-read every few seconds)."""

    REFRESH = 2.0

    def __init__(self, queues: list[str] | None, role: str | None, alias: str) -> None:
        self.fixed, self.role, self.alias = queues, role, alias
        self.cached: list[str] | None = None
        self.read_at = 0.0

    def current(self, *, stale_ok: bool = False) -> list[str] | None:
        """The queues to claim from; ``stale_ok``: a read up to twice ``REFRESH`` old will do
        (a pickup asked for by a wake-up claims first, the loop re-reads after)."""
        if self.role is None:
            return self.fixed
        age = time.monotonic() - self.read_at
        if age >= (2 * self.REFRESH if stale_ok and self.read_at else self.REFRESH):
            role = Role.objects.using(self.alias).filter(name=self.role).first()
            self.cached = role.queue_names() if role is not None else []
            self.read_at = time.monotonic()
        return self.cached
