"""What a claim statement must respect: the limits of one claim, as plain values (pure).

The engines (``django_jobs.db``) put these into their claim statements; the worker
(``django_jobs.worker.limits``) reads the queues and definitions to build them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Limits:
    """What a claim statement must respect; built by ``worker.limits.LimitConfig``."""

    tree: str = "%"  # LIKE pattern of this worker's process ids, for per-worker counts
    excluded: list[str] = field(default_factory=list)  # paused or out of rate tokens
    enforce: bool = True  # include the group and definition-cap conditions
    cap_names: list[str] = field(default_factory=list)
    cap_running: list[int | None] = field(default_factory=list)
    cap_per_worker: list[int | None] = field(default_factory=list)
