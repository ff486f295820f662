"""Validation of every argument a caller can send, before anything is looked up.

Each rule lives here once; the web layer and the CLI reach it through the
store, so a malformed argument is refused the same way from every entry point.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from core.errors import SecretStoreError

MAX_VALUE_BYTES = 65_536
MAX_METADATA_BYTES = 8 * 1024
MAX_METADATA_DEPTH = 32
MAX_NAMESPACE_LENGTH = 128
MAX_NAME_LENGTH = 256
MAX_PAGE_LIMIT = 200
DEFAULT_PAGE_LIMIT = 50
# JavaScript clients can hold integers up to 2**53 exactly; a TTL beyond that is
# a mistake, and it also keeps now + ttl inside PostgreSQL's timestamp range.
MAX_DURATION_MS = 100 * 365 * 24 * 3600 * 1000

Order = Literal["asc", "desc"]

# The grammar of names and namespaces, as regular expressions. Core matches
# with them; the API's OpenAPI patterns are built from the same text, so the
# published schema and the check cannot drift apart (tests/web/test_openapi.py).
_NAMESPACE_FIRST = "[A-Za-z0-9]"
_NAMESPACE_REST = "[A-Za-z0-9._:@-]"
NAMESPACE_REGEX = f"{_NAMESPACE_FIRST}{_NAMESPACE_REST}{{0,{MAX_NAMESPACE_LENGTH - 1}}}"
# A namespace pattern's prefix form: a namespace's first characters and '*',
# at most as long as a namespace (core.access.check_pattern).
NAMESPACE_PREFIX_REGEX = (
    rf"(?:{_NAMESPACE_FIRST}{_NAMESPACE_REST}{{0,{MAX_NAMESPACE_LENGTH - 2}}})?\*"
)
NAMESPACE_PATTERN_REGEX = f"(?:{NAMESPACE_REGEX}|{NAMESPACE_PREFIX_REGEX})"
# C0 and C1 control characters and DEL, as a character-class body.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f"
# A name: no '/', no control characters, no white space at either end, and not
# '.' or '..' (check_name gives each its own message).
_NAME_END = rf"[^\s/{CONTROL_CHARACTERS}]"
NAME_REGEX = (
    rf"(?!\.\.?$){_NAME_END}"
    rf"(?:[^/{CONTROL_CHARACTERS}]{{0,{MAX_NAME_LENGTH - 2}}}{_NAME_END})?"
)

_NAMESPACE = re.compile(NAMESPACE_REGEX)
_NAMESPACE_PREFIX = re.compile(NAMESPACE_PREFIX_REGEX)
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def invalid(message: str) -> SecretStoreError:
    return SecretStoreError("invalid_argument", message)


def is_namespace(text: object) -> bool:
    return isinstance(text, str) and _NAMESPACE.fullmatch(text) is not None


def is_namespace_pattern(text: object) -> bool:
    """A namespace (``acme:production``) or a prefix of one ending in ``*`` (``acme:*``, ``*``)."""
    return isinstance(text, str) and (
        _NAMESPACE.fullmatch(text) is not None or _NAMESPACE_PREFIX.fullmatch(text) is not None
    )


def has_control_character(text: str) -> bool:
    return _CONTROL.search(text) is not None


def check_namespace(namespace: object) -> str:
    if not isinstance(namespace, str) or not is_namespace(namespace):
        raise invalid(
            "namespace must be 1-128 characters from A-Z a-z 0-9 . _ : @ -, "
            "starting with a letter or digit"
        )
    return namespace


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise invalid("name must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise invalid(f"name must be at most {MAX_NAME_LENGTH} characters")
    if "/" in name:
        raise invalid("name must not contain '/'")
    if has_control_character(name):
        raise invalid("name must not contain control characters")
    if _SURROGATE.search(name):
        # Lone surrogates (from bytes that were not UTF-8) cannot be stored as text.
        raise invalid("name must be valid Unicode text")
    if name != name.strip():
        raise invalid("name must not start or end with white space")
    if name in (".", ".."):
        # URL clients and proxies collapse these path segments: such a secret
        # could be written from one entry point and never reached from another.
        raise invalid("name must not be '.' or '..'")
    return name


def check_value(value: object) -> str:
    if not isinstance(value, str):
        raise invalid("value must be a string")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        # Lone surrogates cannot be stored as UTF-8 text.
        raise invalid("value must be valid Unicode text") from None
    if size > MAX_VALUE_BYTES:
        raise SecretStoreError(
            "value_too_large", f"value is {size} UTF-8 bytes; the limit is {MAX_VALUE_BYTES}"
        )
    return value


def check_metadata(metadata: object) -> dict[str, Any] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise invalid("metadata must be a JSON object or null")
    check_metadata_shape(metadata)
    try:
        encoded = json.dumps(metadata, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        size = len(encoded.encode("utf-8"))
    except (TypeError, ValueError, UnicodeEncodeError):
        raise invalid("metadata must be a JSON object of JSON values") from None
    if size > MAX_METADATA_BYTES:
        raise invalid(f"metadata is {size} bytes serialized; the limit is {MAX_METADATA_BYTES}")
    result: dict[str, Any] = json.loads(encoded)
    return result


def check_metadata_shape(document: object) -> None:
    """Nesting depth and U+0000 checked without recursion, before serialising.

    PostgreSQL's jsonb cannot hold U+0000, and a deeply nested document would
    exhaust the recursion of the JSON encoder.
    """
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise invalid("metadata must not contain the character U+0000")
        elif isinstance(item, Mapping | list | tuple):
            if depth > MAX_METADATA_DEPTH:
                raise invalid(f"metadata must not nest deeper than {MAX_METADATA_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, Mapping) else list(item)
            stack.extend((child, depth + 1) for child in children)


def check_duration_ms(field: str, value: object) -> int:
    """A positive whole number of milliseconds (``ttl_ms``, ``retention_ms``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{field} must be a positive integer number of milliseconds")
    if value <= 0:
        raise invalid(f"{field} must be positive")
    if value > MAX_DURATION_MS:
        raise invalid(f"{field} must be at most {MAX_DURATION_MS}")
    return value


def check_version(version: object) -> int:
    """A version number: a positive integer (versions count from 1)."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise invalid("a version must be a positive integer")
    if version > 0x7FFFFFFF:
        raise invalid("no such version number (at most 2147483647)")
    return version


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_LIMIT:
        raise invalid(f"limit must be an integer from 1 to {MAX_PAGE_LIMIT}")
    return limit


def check_order(order: object) -> Order:
    if order == "asc":
        return "asc"
    if order == "desc":
        return "desc"
    raise invalid("order must be 'asc' or 'desc'")
