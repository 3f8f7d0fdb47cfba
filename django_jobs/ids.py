"""Job ids: time-ordered UUIDs (the ULID layout), so new rows land at the end of the index.

48 bits of milliseconds since the epoch followed by 80 random bits, with the RFC 4122
version (7) and variant bits set. A client-supplied ULID string converts to the same 128 bits.
"""

from __future__ import annotations

import os
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ALIASES = str.maketrans("ILO", "110")  # Crockford's base32 reads I and L as 1, O as 0


def new_job_id() -> uuid.UUID:
    """A new version-7 UUID: sortable by creation time to the millisecond."""
    return new_job_ids(1)[0]


_KEEP = ~(0xF << 76) & ~(0x3 << 62)  # everything but the version and variant bits
_MARK = (0x7 << 76) | (0x2 << 62)  # version 7, RFC 4122 variant


def new_job_ids(count: int) -> list[uuid.UUID]:
    """``count`` new ids made at once: one clock read and one ``os.urandom`` for the batch.
    They are in increasing order, so the rows of one ``enqueue_many`` (which share their
    ``run_at``) are claimed in the order they were given."""
    millis = (time.time_ns() // 1_000_000) & ((1 << 48) - 1)
    noise = os.urandom(10 * count)
    # Sorted as integers (UUID comparison is a Python method, called n log n times).
    values = sorted(
        (millis << 80 | int.from_bytes(noise[i : i + 10], "big")) & _KEEP | _MARK
        for i in range(0, 10 * count, 10)
    )
    return [uuid.UUID(int=value) for value in values]


def parse_job_id(text: str | uuid.UUID) -> uuid.UUID:
    """A UUID from a UUID or a 26-character ULID string; ``ValueError`` says what is wrong."""
    if isinstance(text, uuid.UUID):
        return text
    if not isinstance(text, str):
        raise ValueError(f"a job id must be a UUID or ULID string, got {type(text).__name__}")
    if len(text) == 26:
        value = 0
        for char in text.upper().translate(_ALIASES):
            digit = _CROCKFORD.find(char)
            if digit < 0:
                raise ValueError(f"{text!r} is not a valid ULID: {char!r} is not a base32 digit")
            value = value * 32 + digit
        if value >> 128:
            raise ValueError(f"{text!r} is not a valid ULID: it is larger than 128 bits")
        return uuid.UUID(int=value)
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a UUID nor a ULID") from None
