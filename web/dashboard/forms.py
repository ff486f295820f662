"""The dashboard's HTML forms and their translation into store arguments.

A form sends strings; the store wants ``UNSET`` / ``None`` / an integer for an
expiry and a JSON object or ``None`` for metadata. The rules for what those
mean stay in core: this module only parses, and bad input becomes the same
``invalid_argument`` the API gives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.models import UNSET, Unset
from core.validation import invalid

UNIT_MS = {"minutes": 60_000, "hours": 3_600_000, "days": 86_400_000}
DAY_MS = UNIT_MS["days"]


@dataclass
class SecretCreateForm:
    namespace: str
    name: str
    value: str = ""
    metadata: str = ""
    expiry: str = "default"
    ttl_amount: str = ""
    ttl_unit: str = "days"


@dataclass
class SecretValueForm:
    value: str = ""
    expiry: str = "default"
    ttl_amount: str = ""
    ttl_unit: str = "days"


@dataclass
class SecretUpdateForm:
    metadata: str = ""
    expiry: str = "keep"
    ttl_amount: str = ""
    ttl_unit: str = "days"


@dataclass
class TokenCreateForm:
    name: str = ""
    namespaces: str = ""
    # A form sends one ticked box as a string and several as a list.
    capabilities: list[str] | str = field(default_factory=list)
    ttl_days: str = ""

    @property
    def capability_list(self) -> list[str]:
        return [self.capabilities] if isinstance(self.capabilities, str) else self.capabilities


@dataclass
class CleanupForm:
    retention_days: str = ""


@dataclass
class LoginForm:
    token: str = ""


def parse_metadata(text: str) -> dict[str, Any] | None:
    """An empty box means no metadata; anything else must be a JSON object."""
    if not text.strip():
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        raise invalid('metadata must be a JSON object, for example {"owner": "ops"}') from None
    if not isinstance(parsed, dict):
        raise invalid("metadata must be a JSON object or null")
    return parsed


def _amount_ms(amount: str, unit: str) -> int:
    if unit not in UNIT_MS:
        raise invalid("expiry unit must be minutes, hours or days")
    text = amount.strip()
    if not text.isdigit() or int(text) <= 0:
        raise invalid("ttl_ms must be positive")
    return int(text) * UNIT_MS[unit]


def parse_expiry(expiry: str, amount: str, unit: str) -> int | Unset | None:
    """``keep``/``default`` -> UNSET, ``never`` -> None, ``in`` -> milliseconds.

    On a write UNSET means the deployment's default TTL; on a metadata edit it
    keeps the stored expiry: the same absent-vs-null rule as the API.
    """
    if expiry in ("keep", "default"):
        return UNSET
    if expiry == "never":
        return None
    if expiry == "in":
        return _amount_ms(amount, unit)
    raise invalid("expiry must be one of keep, default, never, in")


def parse_retention_days(text: str) -> int | None:
    """Blank keeps the default retention; otherwise whole days, as milliseconds."""
    if not text.strip():
        return None
    return _amount_ms(text, "days")


def parse_patterns(text: str) -> list[str]:
    """Namespace patterns typed as a comma- or space-separated list."""
    return [part for part in text.replace(",", " ").split() if part]


def parse_token_ttl(text: str) -> int | None:
    return None if not text.strip() else _amount_ms(text, "days")
