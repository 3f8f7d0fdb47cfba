"""Every operation of the engine contract written with the ORM, for any database.

The generic engine is this as it stands; the SQLite and PostgreSQL engines replace the
operations they do better and keep the rest. Not an engine itself: engines may import it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from django_jobs.db.engine import Capabilities, Ending, Listener
from django_jobs.limits import Limits
from django_jobs.models import Job, JobAttempt, Queue, Worker, WorkerState, transitions


class OrmEngine:
    """The ORM's bulk insert and claim, polling for wake-ups; no limit but paused and
    excluded queues holds in its claim (see ``capabilities``)."""

    name = "orm"
    capabilities = Capabilities()

    def insert_jobs(
        self,
        connection: BaseDatabaseWrapper,
        jobs: Sequence[Job],
        *,
        ignore_conflicts: bool,
        new_queues: Sequence[str] = (),
    ) -> set[uuid.UUID]:
        """``new_queues`` is always empty here (``capabilities.queue_rows`` is ``None``)."""
        manager = Job.objects.using(connection.alias)
        manager.bulk_create(jobs, ignore_conflicts=ignore_conflicts)
        if not ignore_conflicts:
            return {job.id for job in jobs}
        # The ORM cannot report which rows ON CONFLICT skipped: look the ids up (ids are
        # unique and chosen here, so a row with our id is ours).
        ids = [job.id for job in jobs]
        return set(manager.filter(id__in=ids).values_list("id", flat=True))

    def claim_jobs(
        self,
        connection: Any,
        *,
        queues: Sequence[str] | None,
        limit: int,
        worker: str,
        now: datetime,
        limits: Limits | None = None,
    ) -> list[Job]:
        """Claim with the ORM, locking candidates with SKIP LOCKED (MySQL 8 / MariaDB 10.6+)."""
        limits = limits or Limits()
        with transaction.atomic(using=connection.alias):
            ready = Job.objects.using(connection.alias).filter(state=transitions.CLAIM.source)
            if queues is not None:
                ready = ready.filter(queue__in=list(queues))
            paused = Queue.objects.using(connection.alias).filter(paused=True).values("name")
            ready = ready.exclude(queue__in=paused).exclude(queue__in=list(limits.excluded))
            locked = list(
                ready.order_by("-priority", "run_at", "id").select_for_update(
                    skip_locked=connection.features.has_select_for_update_skip_locked
                )[:limit]
            )
            claimed = []
            for job in locked:
                # Without row locks (old SQLite in DEFERRED mode) another worker may have won.
                won = transitions.CLAIM.apply(
                    job,
                    using=connection.alias,
                    worker=worker,
                    claim_token=uuid.uuid4(),
                    started_at=now,
                    heartbeat_at=now,
                    attempts=job.attempts + 1,
                    lease_expires_at=None,
                    cancel_requested_at=None,
                )
                if won:
                    claimed.append(job)
        return claimed

    def lock_claims(self, connection: BaseDatabaseWrapper) -> None:
        """Nothing: the claim's row locks (or a single writer) are all there is."""

    def record_ends(self, connection: Any, ends: Sequence[Ending], worker: str) -> set[uuid.UUID]:
        """In one transaction, each UPDATE fenced by the job's claim token."""
        alias = connection.alias
        written = set()
        with transaction.atomic(using=alias):
            for end in ends:
                fields = dict(end.fields)
                ending = transitions.ending(fields.pop("state"))
                if ending.write(end.job, using=alias, **fields):
                    JobAttempt.objects.using(alias).create(
                        job_id=end.job.pk,
                        number=end.job.attempts,
                        worker=worker,
                        started_at=fields["started_at"],
                        finished_at=end.ended,
                        outcome=end.outcome,
                        error_type=end.error_type,
                        error_message=end.message,
                        traceback=end.traceback,
                    )
                    written.add(end.job.pk)
        return written

    def stage_due(self, connection: BaseDatabaseWrapper, now: datetime) -> int:
        """One conditional UPDATE (index dj_job_due)."""
        due = Job.objects.using(connection.alias).filter(run_at__lte=now)
        return transitions.STAGE.apply_many(due)

    def declare_dead(
        self, connection: BaseDatabaseWrapper, silent_since: datetime, now: datetime
    ) -> list[str]:
        """One conditional UPDATE per silent worker, so that one caller wins each."""
        alias = connection.alias
        silent = Worker.objects.using(alias).filter(
            state__in=[WorkerState.RUNNING, WorkerState.STOPPING], heartbeat_at__lt=silent_since
        )
        won = []
        for worker_id in list(silent.values_list("pk", flat=True)):
            with transaction.atomic(using=alias):
                if silent.filter(pk=worker_id).update(state=WorkerState.DEAD, stopped_at=now):
                    won.append(worker_id)
        return won

    def notify(self, connection: BaseDatabaseWrapper, queues: Sequence[str]) -> None:
        """No push wake-ups: workers poll."""

    def listen(self, alias: str) -> Listener | None:
        return None

    def worker_session(self, alias: str) -> Any:
        return None
