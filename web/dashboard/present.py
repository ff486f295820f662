"""How the dashboard shows things: masked values, event sentences, times.

Pure functions, registered as Jinja filters; none of them touches the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from core.models import AuditEvent
from core.timeutil import format_timestamp
from core.tokens import BOOTSTRAP_ACTOR

# A value this short is masked whole: showing four characters at each end
# would show all or most of it.
MASK_MIN_LENGTH = 9
MASK_EDGE = 4
# A fixed-width mask, so the mask does not tell how long a short value is.
FULL_MASK = "\u2022" * 8


def mask_value(value: str) -> str:
    """``sk-abcdefxyz9`` -> ``sk-a…xyz9``; a value of 8 characters or less -> ``••••••••``."""
    if len(value) < MASK_MIN_LENGTH:
        return FULL_MASK
    return f"{value[:MASK_EDGE]}\u2026{value[-MASK_EDGE:]}"


def describe_event(event: AuditEvent) -> str:
    """One readable line for an audit event, from its type and detail."""
    detail = event.detail
    if event.type == "rotated":
        return f"rotated from v{detail.get('from_version')} to v{detail.get('to_version')}"
    if event.type == "deleted":
        return "deleted by cleanup" if detail.get("reason") == "expired_cleanup" else "deleted"
    if event.type == "updated":
        changed = detail.get("changed") or []
        return "updated: " + ", ".join(str(c) for c in changed) if changed else "updated: nothing"
    return str(event.type)


def actor_label(actor: str | None, names: Mapping[str, str]) -> str:
    """The acting token's name, when known; the id otherwise; "system" for none."""
    if actor is None:
        return "system"
    if actor == BOOTSTRAP_ACTOR:
        return "bootstrap admin"
    return names.get(actor, actor)


def metadata_items(metadata: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Metadata as (key, text) pairs; non-string values as compact JSON."""
    if not metadata:
        return []
    return [
        (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for key, value in metadata.items()
    ]


def metadata_json(metadata: Mapping[str, Any] | None) -> str:
    return "" if not metadata else json.dumps(metadata, indent=2, ensure_ascii=False)


def timestamp(moment: datetime | None) -> str:
    """The API's RFC 3339 form, for ``<time datetime=...>``."""
    return "" if moment is None else format_timestamp(moment)


def short_time(moment: datetime | None) -> str:
    """``2026-11-29 12:00 UTC`` — minutes are enough in a table; the title carries the rest."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def table_time(moment: datetime | None) -> str:
    """``2026-11-29 12:00``: a table's column header says UTC once."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def relative_time(moment: datetime | None, now: datetime | None = None) -> str:
    """``in 3 days`` / ``5 min ago`` / ``just now``, for expiry columns."""
    if moment is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = (moment - now).total_seconds()
    amount = abs(seconds)
    if amount < 60:
        return "in under a minute" if seconds >= 0 else "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("min", 60)):
        if amount >= size:
            count = round(amount / size)
            plural = "" if count == 1 or unit == "min" else "s"
            text = f"{count} {unit}{plural}"
            break
    return f"in {text}" if seconds >= 0 else f"{text} ago"


def duration_text(milliseconds: int | None) -> str:
    """``30 days``, ``2 hours``; ``never`` for no duration."""
    if milliseconds is None:
        return "never"
    for unit, size in (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000)):
        if milliseconds >= size and milliseconds % size == 0:
            count = milliseconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{milliseconds} ms"


def percent(part: int, whole: int) -> int:
    """A whole percentage, 100 for an empty whole (nothing to do is done)."""
    if whole <= 0:
        return 100
    return min(100, part * 100 // whole)


def url(path: str, **params: object) -> str:
    """``path`` with a query string of the non-empty ``params`` (names and namespaces encoded)."""
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{path}?{query}" if query else path


GLOBALS = {"url": url}

FILTERS = {
    "mask": mask_value,
    "event_text": describe_event,
    "actor_label": actor_label,
    "metadata_items": metadata_items,
    "metadata_json": metadata_json,
    "timestamp": timestamp,
    "short_time": short_time,
    "table_time": table_time,
    "relative_time": relative_time,
}
