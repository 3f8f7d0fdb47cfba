"""The generic engine: SQLite older than 3.35 and any other database.

The ORM's bulk insert and claim (``db/orm.py``), polling for wake-ups. Its claim respects
paused queues and those a limit excludes (rate limits), but not ``Queue.max_concurrent``,
the definitions' caps nor ``group_key``: system check ``django_jobs.W006`` reports the
first two when they are set, and an enqueue with a ``group_key`` is refused.
"""

from __future__ import annotations

from django_jobs.db.engine import Capabilities
from django_jobs.db.orm import OrmEngine


class GenericEngine(OrmEngine):
    name = "generic"
    capabilities = Capabilities()


ENGINE = GenericEngine()
