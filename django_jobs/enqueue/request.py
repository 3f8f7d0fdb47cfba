"""``EnqueueRequest``: a definition with per-call options, turned into unsaved ``Job`` rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from django_jobs import tracing
from django_jobs.conf import jobs_settings
from django_jobs.enqueue.rows import row_template, unsaved_jobs
from django_jobs.enqueue.validate import (
    Call,
    EnqueueOptions,
    as_call,
    bad_option,
    check_calls,
    check_options,
    keys_for,
    strict_json,
)
from django_jobs.enqueue.write import after_enqueue, write_jobs
from django_jobs.ids import new_job_ids
from django_jobs.models import Job
from django_jobs.states import State

if TYPE_CHECKING:
    from django_jobs.registry import Definition


class EnqueueRequest:
    """A definition with per-call options: ``send_email.using(queue="bulk").enqueue(...)``."""

    def __init__(self, definition: Definition, options: EnqueueOptions | None = None) -> None:
        self.definition = definition
        self.options = options or EnqueueOptions()

    def using(self, **options: Any) -> EnqueueRequest:
        clean = check_options(**options)
        # The later of run_at / delay wins when calls are chained.
        if clean.get("delay") is not None:
            clean["run_at"] = None
        if clean.get("run_at") is not None:
            clean["delay"] = None
        return EnqueueRequest(self.definition, replace(self.options, **clean))

    def enqueue(self, *args: Any, **kwargs: Any) -> Job:
        return self._enqueue([(args, kwargs)], [self.options.key])[0]

    def enqueue_many(
        self, items: Iterable[Any], *, keys: Iterable[str | None] | None = None
    ) -> list[Job]:
        """One job per item, all or none; more than ``ENQUEUE_MANY_CHUNK`` items are written
        in chunks of that many rows, in one transaction (a savepoint inside the caller's)."""
        calls = [as_call(self.definition, i, item) for i, item in enumerate(items)]
        key_list = keys_for(calls, keys, self.options.key)
        if len(calls) <= ENQUEUE_MANY_CHUNK:
            return self._enqueue(calls, key_list, many=True) if calls else []
        alias = jobs_settings.DATABASE
        result: list[Job] = []
        ids = new_job_ids(len(calls))  # one run of increasing ids, as for a single INSERT
        with self._span(len(calls)), transaction.atomic(using=alias):
            for start in range(0, len(calls), ENQUEUE_MANY_CHUNK):
                end = start + ENQUEUE_MANY_CHUNK
                jobs = self.build_many(
                    calls[start:end],
                    key_list[start:end],
                    many=True,
                    first=start,
                    ids=ids[start:end],
                )
                result += write_jobs(jobs, alias, self.options.on_conflict)
        after_enqueue(result, alias)
        return result

    def _enqueue(
        self, calls: list[Call], keys: list[str | None], *, many: bool = False
    ) -> list[Job]:
        with self._span(len(calls) if many else None) as span:
            jobs = self.build_many(calls, keys, many=many)
            alias = jobs_settings.DATABASE
            result = write_jobs(jobs, alias, self.options.on_conflict)
            span.sent(result)
        after_enqueue(result, alias)
        return result

    def _span(self, count: int | None) -> tracing.Span:
        """The producer span (``django_jobs.tracing``), current while the rows are built."""
        return tracing.producer(
            self.options.queue or self.definition.queue_name, self.definition.name, count
        )

    def build(self, args: Sequence[Any], kwargs: dict[str, Any], key: str | None) -> Job:
        """One unsaved ``Job`` for these arguments (validated; nothing is written)."""
        return self.build_many([(args, kwargs)], [key])[0]

    def build_many(
        self,
        calls: list[Call],
        keys: list[str | None],
        *,
        many: bool = False,
        first: int = 0,
        ids: list[Any] | None = None,
    ) -> list[Job]:
        """Validate every call, then make one unsaved ``Job`` per call.

        The per-row work is kept to what differs between rows (id, arguments, key): the
        rest is worked out once per batch into a row template, and each ``Job`` is made from
        a copy of it (``unsaved_jobs``).
        """
        d, o = self.definition, self.options
        if o.id is not None and len(calls) > 1:
            raise bad_option("id", "names one job; enqueue_many cannot give it to several")
        stored = check_calls(d, calls, many=many, first=first)
        now = timezone.now()
        run_at = o.run_at or (now + o.delay if o.delay else now)
        meta = json.loads(strict_json({**d.meta, **(o.meta or {})}))  # as stored: lists
        meta = tracing.stamp(meta, link=many)  # the keys of the current trace context
        template = row_template(
            name=d.name,
            version=d.version,
            queue=o.queue or d.queue_name,
            state=State.SCHEDULED if run_at > now else State.QUEUED,
            priority=d.priority if o.priority is None else o.priority,
            group_key=o.group_key,
            run_at=run_at,
            created_at=now,
            max_attempts=d.max_attempts,
        )
        if ids is None:
            ids = [o.id] if o.id is not None else new_job_ids(len(calls))
        rows = (
            (pk, args, kwargs, dict(meta), key)
            for (args, kwargs), key, pk in zip(stored, keys, ids)
        )
        jobs = unsaved_jobs(template, ("id", "args", "kwargs", "meta", "key"), rows)
        if o.id is not None:
            jobs[0]._chosen_id = True  # type: ignore[attr-defined]
        return jobs


#: Rows per INSERT of a large ``enqueue_many``: a million items make 200 statements of 5,000
#: rows (one JSON parameter each), not one statement holding every row.
ENQUEUE_MANY_CHUNK = 5_000
