"""Time as the store sees it: UTC, truncated to the millisecond.

API.md promises RFC 3339 timestamps with millisecond precision. Truncating at
the source means what is stored, compared and put in a cursor is exactly what a
client sees, so a keyset cursor built from a returned timestamp is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def truncate_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def utc_now() -> datetime:
    return truncate_ms(datetime.now(UTC))


def after_ms(moment: datetime, milliseconds: int) -> datetime:
    return moment + timedelta(milliseconds=milliseconds)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with exactly three fractional digits and a ``Z``."""
    # isoformat truncates to the millisecond and ends in "+00:00" for UTC.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    """The expiry rule: a secret is expired once ``now >= expires_at``."""
    return expires_at is not None and now >= expires_at
