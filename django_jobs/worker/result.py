"""``Result``: what one attempt came to, as the executor and the recorder pass it on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from django_jobs.models import Outcome


@dataclass
class Result:
    """What one attempt came to, normalised."""

    outcome: str  # an Outcome word
    value: Any = None
    error: BaseException | None = None
    error_type: str = ""
    message: str = ""
    traceback: str = ""
    retryable: bool = False
    started_at: datetime = field(default_factory=timezone.now)
    #: With outcome "interrupted": True fails the job (on_shutdown="stop") instead of requeueing.
    final: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.SUCCEEDED
