"""The worker tree's rows in the Worker table, as the supervisor keeps them.

One row for the supervisor and one for each process it starts (``supervisor`` set, its pid
written once it runs); a heartbeat for all of them; ``stopping`` at the first stop signal;
``stopped`` when a process ends and, for what is left, when the worker ends (a row that a
rescuer declared ``dead`` meanwhile stays so). Rescue reads these rows: ``maintenance``.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

from django_jobs.models import Worker, WorkerState

if TYPE_CHECKING:
    from django_jobs.worker.loop import LoopOptions


class TreeRows:
    def __init__(self, supervisor_id: str, options: LoopOptions, alias: str) -> None:
        self.supervisor_id, self.options, self.alias = supervisor_id, options, alias

    def _rows(self, *ids: str) -> QuerySet[Worker]:
        return Worker.objects.using(self.alias).filter(pk__in=ids)

    def register(self, name: str, concurrency: int) -> None:
        """The supervisor's row."""
        Worker.objects.using(self.alias).create(
            id=self.supervisor_id,
            name=name,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            queues=self.options.queues or [],
            role=self.options.role or "",
            concurrency=concurrency,
        )

    def add_process(self, worker_id: str) -> None:
        """The row of a process about to be started (its pid is not known yet)."""
        Worker.objects.using(self.alias).create(
            id=worker_id,
            supervisor_id=self.supervisor_id,
            hostname=socket.gethostname(),
            pid=0,
            queues=self.options.queues or [],
            role=self.options.role or "",
            concurrency=1,
        )

    def process_started(self, worker_id: str, pid: int) -> None:
        self._rows(worker_id).update(pid=pid)

    def stopped(self, worker_id: str) -> None:
        """A process ended (or was never started)."""
        self._rows(worker_id).update(state=WorkerState.STOPPED, stopped_at=timezone.now())

    def heartbeat(self, ids: list[str]) -> None:
        self._rows(*ids).update(heartbeat_at=timezone.now())

    def stopping(self, ids: list[str]) -> None:
        self._rows(*ids).update(state=WorkerState.STOPPING)

    def unregister(self, ids: list[str]) -> None:
        """The worker ends: every row left ``stopped``, but those declared ``dead``."""
        rows = self._rows(*ids).exclude(state=WorkerState.DEAD)
        rows.update(state=WorkerState.STOPPED, stopped_at=timezone.now())
