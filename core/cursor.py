"""Opaque keyset cursors.

A cursor names the last row of a page by its sort key, ``(timestamp, id)``, so
the next page starts strictly after it. Rows inserted or updated while a client
pages move to the front of a newest-first listing instead of shifting the
pages behind the cursor, which is why keyset paging neither skips nor repeats
rows the way OFFSET paging does. The cursor also carries what it lists and its
order, so one taken from another listing or order is refused, not misread.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.errors import SecretStoreError
from core.validation import Order

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BAD_CURSOR = "cursor is not valid for this listing; use next_cursor from the previous page"


@dataclass(frozen=True)
class Position:
    moment: datetime
    row_id: str


def encode_cursor(listing: str, order: Order, position: Position) -> str:
    micros = (position.moment - _EPOCH) // timedelta(microseconds=1)
    payload = json.dumps([listing, order, micros, position.row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(listing: str, order: Order, cursor: str) -> Position:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, cursor_order, micros, row_id = json.loads(base64.urlsafe_b64decode(padded))
        if kind != listing or cursor_order != order:
            raise ValueError
        if not isinstance(micros, int) or isinstance(micros, bool) or not isinstance(row_id, str):
            raise ValueError
        moment = _EPOCH + timedelta(microseconds=micros)
    except (ValueError, TypeError, binascii.Error, OverflowError, OSError):
        raise SecretStoreError("invalid_argument", _BAD_CURSOR) from None
    return Position(moment, row_id)
