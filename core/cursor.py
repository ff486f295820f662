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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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


@dataclass(frozen=True)
class Keyset:
    """Keyset paging over ``(time_column, id)``: the one home of the page query's rules.

    A page asks for ``limit + 1`` rows; the extra row only tells that another
    page exists, and the cursor names the last row actually returned.
    """

    listing: str
    time_column: str
    parse_row_id: Callable[[str], object]

    def after(self, order: Order, cursor: str | None, args: list[Any]) -> str | None:
        """The condition for rows strictly after ``cursor``; appends its parameters."""
        if cursor is None:
            return None
        position = decode_cursor(self.listing, order, cursor)
        try:
            row_id = self.parse_row_id(position.row_id)
        except (ValueError, TypeError):
            raise SecretStoreError("invalid_argument", _BAD_CURSOR) from None
        args.extend([position.moment, row_id])
        compare = "<" if order == "desc" else ">"
        return f"({self.time_column}, id) {compare} (${len(args) - 1}, ${len(args)})"

    def order_by(self, order: Order, limit: int, args: list[Any]) -> str:
        direction = "DESC" if order == "desc" else "ASC"
        args.append(limit + 1)
        return f"ORDER BY {self.time_column} {direction}, id {direction} LIMIT ${len(args)}"

    def next_cursor(
        self, order: Order, fetched: int, limit: int, last: Position | None
    ) -> str | None:
        if fetched <= limit or last is None:
            return None
        return encode_cursor(self.listing, order, last)
