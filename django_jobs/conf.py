"""Every ``DJANGO_JOBS_*`` setting: its type, default and one-line doc, read at access time.

Use ``from django_jobs.conf import jobs_settings`` and read ``jobs_settings.WORKER_TIMEOUT``:
the value comes from ``django.conf.settings`` at that moment, so ``override_settings`` works.
An invalid value raises ``ImproperlyConfigured`` naming the setting; ``manage.py check``
reports the same problem as ``django_jobs.E001``, unknown names as ``django_jobs.W001`` and
names whose prefix is a slip of ``DJANGO_JOBS_`` (``DJANGO_JOB_INLINE``) as ``django_jobs.W004``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from django_jobs.names import QUEUE_NAME_RE, QUEUE_NAME_RULE

PREFIX = "DJANGO_JOBS_"
#: Prefixes (upper case, letters only) taken for a slip of ``DJANGO_JOBS_`` although they are
#: not close to it by spelling; closer ones (``DJANGO_JOB_``, ``DJANGOJOBS_``) are found by
#: similarity.
SHORT_PREFIXES = ("JOB", "JOBS")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    doc: str
    validate: Callable[[Any], Any]


def _number(minimum: float, *, allow_none: bool = False, integer: bool = False) -> Callable:
    kind = "an integer" if integer else "a number"

    def validate(value: Any) -> Any:
        if value is None and allow_none:
            return None
        if isinstance(value, timedelta) and not integer:
            value = value.total_seconds()
        ok_types = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_types):
            raise ValueError(f"must be {kind} >= {minimum}, got {value!r}")
        if not minimum <= value < float("inf"):  # also refuses NaN and infinity
            raise ValueError(f"must be {kind} >= {minimum}, got {value!r}")
        return value

    return validate


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be True or False, got {value!r}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return value


def _trace_url(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or "{trace_id}" not in value:
        raise ValueError(f"must be None or a URL template with {{trace_id}}, got {value!r}")
    try:
        value.format(trace_id="0")
    except (IndexError, KeyError, ValueError):
        raise ValueError(
            f"must name no placeholder but {{trace_id}} (double other braces), got {value!r}"
        ) from None
    return value


def _queue_name(value: Any) -> str:
    if not isinstance(value, str) or not QUEUE_NAME_RE.fullmatch(value):
        raise ValueError(f"must be a queue name ({QUEUE_NAME_RULE}), got {value!r}")
    return value


def _ttl(value: Any) -> timedelta | None:
    if value is None:
        return None
    century = timedelta(days=36_525)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 0 <= value <= century.total_seconds():
            return timedelta(seconds=value)
    elif isinstance(value, timedelta) and timedelta(0) <= value <= century:
        return value
    raise ValueError(
        f"must be None, a timedelta or a number of seconds from 0 to 100 years, got {value!r}"
    )


def _redaction_hook(value: Any) -> Callable[[str], str] | None:
    """``None``, a callable ``(text) -> text``, or the dotted path of one (from settings, never
    from the database)."""
    if value is None or callable(value):
        return value
    if isinstance(value, str):
        from django.utils.module_loading import import_string

        try:
            hook = import_string(value)
        except ImportError as exc:
            raise ValueError(f"cannot be imported ({exc})") from None
        if callable(hook):
            return hook
    raise ValueError(f"must be None, a callable or the dotted path of one, got {value!r}")


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting("DATABASE", "default", "Database alias that holds the jobs tables.", _text),
        Setting("DEFAULT_QUEUE", "default", "Queue of definitions that name none.", _queue_name),
        Setting(
            "DEFAULT_MAX_RETRIES",
            3,
            "Retries of definitions that set no max_retries.",
            _number(0, integer=True),
        ),
        Setting(
            "DEFAULT_RETRY_DELAY",
            10,
            "Base retry delay (seconds) of definitions that set none.",
            _number(0, allow_none=True),
        ),
        Setting(
            "DEFAULT_MAX_RETRY_DELAY", 3600, "Cap (seconds) on a computed retry delay.", _number(0)
        ),
        Setting(
            "DEFAULT_RESULT_TTL",
            timedelta(days=7),
            "How long finished jobs are kept (None: forever).",
            _ttl,
        ),
        Setting(
            "REDACT",
            None,
            "Callable (or its dotted path) applied to a job's error message and traceback "
            "before they are logged or stored.",
            _redaction_hook,
        ),
        Setting("INLINE", False, "Test mode: enqueue runs the job at once, in-process.", _boolean),
        Setting(
            "WORKER_TIMEOUT",
            30,
            "Seconds without a heartbeat after which a worker is "
            "declared dead and its jobs rescued.",
            _number(1),
        ),
        Setting("HEARTBEAT_INTERVAL", 5, "Seconds between worker heartbeats.", _number(0.1)),
        Setting(
            "IDLE_INTERVAL",
            1.0,
            "Seconds an idle worker waits before polling again (jittered).",
            _number(0.01),
        ),
        Setting(
            "USE_LISTEN_NOTIFY",
            True,
            "Use PostgreSQL LISTEN/NOTIFY for wake-ups (turn "
            "off behind PgBouncer in transaction mode).",
            _boolean,
        ),
        Setting("NOTIFY_CHANNEL", "django_jobs", "PostgreSQL channel for enqueue wake-ups.", _text),
        Setting(
            "SHUTDOWN_GRACE", 30, "Seconds running jobs get to finish after SIGTERM.", _number(0)
        ),
        Setting(
            "TIMEOUT_GRACE",
            5,
            "Seconds a job gets after its soft timeout before it is stopped hard.",
            _number(0),
        ),
        Setting(
            "CANCEL_GRACE",
            10,
            "Seconds a cancelled running job gets before it is stopped hard.",
            _number(0),
        ),
        Setting(
            "MISFIRE_MAX_RUNS",
            100,
            "Cap on catch-up runs of a cron schedule with misfire='all'.",
            _number(1, integer=True),
        ),
        Setting(
            "SLOTS",
            10,
            "How many async and thread jobs one worker process runs at once; a 'process' job "
            "runs alone in its process.",
            _number(1, integer=True),
        ),
        Setting(
            "PREFETCH",
            50,
            "Jobs a worker process claims beyond its free slots.",
            _number(0, integer=True),
        ),
        Setting(
            "PREPARED_STATEMENTS",
            True,
            "PostgreSQL: the enqueue INSERT and the workers' claim and completions are prepared.",
            _boolean,
        ),
        Setting(
            "MAINTENANCE_INTERVAL",
            5,
            "Seconds between maintenance runs (rescue, stalled, prune) in a worker.",
            _number(0.1),
        ),
        Setting(
            "PRUNE_BATCH_SIZE",
            1000,
            "Finished jobs deleted per prune statement.",
            _number(1, integer=True),
        ),
        Setting(
            "API_MAX_BODY_BYTES",
            1024 * 1024,
            "Largest request body the JSON API accepts (bytes); larger ones get 413.",
            _number(1, integer=True),
        ),
        Setting(
            "METRICS_PUBLIC",
            False,
            "Serve the metrics view to anyone, without authentication (a scraping network).",
            _boolean,
        ),
        Setting(
            "TRACE_URL",
            None,
            "URL template of a trace in your tracing UI, e.g. 'https://tempo/trace/{trace_id}'.",
            _trace_url,
        ),
        Setting(
            "API_TOKEN_MAX_AGE",
            None,
            "Seconds an API bearer token stays valid (None: until the user's password changes).",
            _number(0.001, allow_none=True),
        ),
    ]
}


class JobsSettings:
    """Attribute access to the settings above, validated on first access and kept until a
    setting changes (``override_settings`` sends ``setting_changed``). An invalid value is
    never kept: it raises on every access."""

    def __init__(self) -> None:
        self._valid: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            return self._valid[name]
        except KeyError:
            pass
        try:
            spec = SETTINGS[name]
        except KeyError:
            raise AttributeError(f"django_jobs has no setting {PREFIX}{name}") from None
        value = getattr(settings, PREFIX + name, spec.default)
        try:
            self._valid[name] = valid = spec.validate(value)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{PREFIX}{name} {exc}") from None
        return valid

    def reload(self) -> None:
        self._valid.clear()

    def __dir__(self) -> list[str]:
        return sorted(SETTINGS)


jobs_settings = JobsSettings()


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(PREFIX):
        jobs_settings.reload()


def invalid_settings() -> list[tuple[str, str]]:
    """``(setting name, problem)`` for every set value that does not validate."""
    problems = []
    for name, spec in SETTINGS.items():
        if hasattr(settings, PREFIX + name):
            try:
                spec.validate(getattr(settings, PREFIX + name))
            except ValueError as exc:
                problems.append((PREFIX + name, str(exc)))
    return problems


def unknown_settings() -> list[tuple[str, str | None]]:
    """``(unknown name, closest known name or None)`` for ``DJANGO_JOBS_*`` typos."""
    known = [PREFIX + name for name in SETTINGS]
    found = []
    for attr in dir(settings):
        if attr.startswith(PREFIX) and attr not in known:
            close = difflib.get_close_matches(attr, known, n=1, cutoff=0.8)
            found.append((attr, close[0] if close else None))
    return found


def misspelled_prefix_settings() -> list[tuple[str, str]]:
    """``(name, intended name)`` for settings whose prefix is a slip of ``DJANGO_JOBS_``.

    ``DJANGO_JOB_INLINE``, ``DJANGOJOBS_INLINE``, ``DJANGO_JOBSINLINE`` and ``JOBS_INLINE`` all
    mean ``DJANGO_JOBS_INLINE``, which django_jobs would otherwise never read.
    """
    return [
        (attr, intended)
        for attr in dir(settings)
        if attr.isupper() and not attr.startswith(PREFIX)
        for intended in [_intended_name(attr)]
        if intended
    ]


def _intended_name(attr: str) -> str | None:
    for name in sorted(SETTINGS, key=len, reverse=True):
        if attr.endswith(name) and _is_prefix_slip(attr[: -len(name)]):
            return PREFIX + name
    if "JOB" not in attr:
        return None
    # The name after the prefix is misspelled as well: DJANGO_JOB_WORKER_TIMOUT.
    close = difflib.get_close_matches(attr, [PREFIX + name for name in SETTINGS], n=1, cutoff=0.85)
    return close[0] if close else None


def _is_prefix_slip(head: str) -> bool:
    letters = re.sub(r"[^A-Z]", "", head)
    if not letters:
        return False
    if letters in SHORT_PREFIXES:
        return True
    return difflib.SequenceMatcher(None, letters, "DJANGOJOBS").ratio() >= 0.8
