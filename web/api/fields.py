"""The field types of the API's bodies, and how they appear in the OpenAPI schema.

Each type carries a rule the JSON schema of a plain ``str`` / ``int`` / ``dict``
would miss: durations accept ``1000.0`` but not ``"1000"``; metadata refuses
what PostgreSQL cannot store; timestamps are RFC 3339. The JSON schema
constraints written here are core's rules restated (core enforces them), so
the OpenAPI document describes exactly what is accepted; rules JSON schema
cannot state (metadata's serialized size) are in the descriptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from litestar.openapi.spec import OpenAPIType, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition
from msgspec import Meta, UnsetType

from core.errors import SecretStoreError
from core.models import UNSET as CORE_UNSET
from core.models import Unset
from core.timeutil import format_timestamp
from core.tokens import MAX_TOKEN_NAME
from core.validation import (
    CONTROL_CHARACTERS,
    MAX_DURATION_MS,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    NAMESPACE_PATTERN_REGEX,
)
from core.validation import check_metadata_shape as core_check_metadata_shape

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

T = TypeVar("T")

MAX_TOKEN_PATTERNS = 100


class Milliseconds(int):
    """A duration: a JSON number without a fractional part (``1000`` or ``1000.0``).

    JSON has one number type, and JSON schema's ``integer`` includes ``1000.0``,
    so a client whose encoder writes every number with a decimal point is not
    refused; ``1.5``, strings and booleans are. Its range is core's rule
    (``check_duration_ms``), applied by the store, the token service or the handler.
    """


class WholeNumber(int):
    """A count or number such as a version: ``41`` or ``41.0``, as :class:`Milliseconds`."""


def decode_custom(type_: type, value: Any) -> Any:
    """msgspec's ``dec_hook`` for the API's custom types."""
    if type_ in (Milliseconds, WholeNumber):
        if isinstance(value, int) and not isinstance(value, bool):
            return type_(value)
        if isinstance(value, float) and value.is_integer():
            return type_(int(value))
        what = "milliseconds" if type_ is Milliseconds else "a whole number"
        raise ValueError(f"Expected a whole number{' of ' + what if type_ is Milliseconds else ''}")
    raise NotImplementedError(f"no decoder for {type_!r}")


class MillisecondsSchema(OpenAPISchemaPlugin):
    """Milliseconds are ``integer`` in the OpenAPI schema (Litestar knows only int itself)."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value in (Milliseconds, WholeNumber)

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        return Schema(type=OpenAPIType.INTEGER)


DurationMs = Annotated[
    Milliseconds,
    Meta(
        description="a positive whole number of milliseconds",
        extra_json_schema={"extra": {"minimum": 1, "maximum": MAX_DURATION_MS}},
    ),
]

# JSON schema of metadata, for the OpenAPI document: a JSON object whose keys
# and strings hold no U+0000 (jsonb cannot store it). Its size and
# depth limits cannot be written in JSON schema; they are in the description.
# Litestar rebuilds components.schemas itself, so the recursive definition of a
# metadata value travels in "$defs" of the field's schema, and every copy
# refers to the one in SecretCreate (tests/web/test_openapi.py resolves it).
_NO_NUL = r"^[^\x00]*$"
_METADATA_VALUE_REF = {
    "$ref": "#/components/schemas/SecretCreate/properties/metadata/oneOf/0/$defs/MetadataValue"
}
_METADATA_OBJECT: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"pattern": _NO_NUL},
    "additionalProperties": _METADATA_VALUE_REF,
}
_METADATA_SCHEMA: list[dict[str, Any]] = [
    {
        **_METADATA_OBJECT,
        "$defs": {
            "MetadataValue": {
                "anyOf": [
                    {"type": "null"},
                    {"type": "boolean"},
                    {"type": "string", "pattern": _NO_NUL},
                    {"type": "number"},
                    {"type": "array", "items": _METADATA_VALUE_REF},
                    _METADATA_OBJECT,
                ]
            }
        },
    },
    {"type": "null"},
]

Metadata = Annotated[
    dict[str, Any],
    Meta(
        description=(
            f"plaintext JSON object, at most {MAX_METADATA_BYTES} bytes serialized and"
            f" {MAX_METADATA_DEPTH} levels deep; no key or string in it may contain U+0000"
        ),
        extra_json_schema={"extra": {"one_of": _METADATA_SCHEMA}},
    ),
]


Timestamp = Annotated[
    str,
    Meta(
        description="RFC 3339 in UTC with milliseconds, e.g. 2026-11-29T12:00:00.123Z",
        extra_json_schema={"extra": {"format": "date-time"}},
    ),
]


def core_unset(value: T | UnsetType) -> T | Unset:
    """msgspec's absent marker as core's (both mean "the client left this field out")."""
    return CORE_UNSET if isinstance(value, UnsetType) else value


def timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def check_metadata_shape(metadata: Mapping[str, Any] | UnsetType | None) -> None:
    """Core's depth and U+0000 rule, raised as msgspec expects while decoding."""
    if not isinstance(metadata, Mapping):
        return
    try:
        core_check_metadata_shape(metadata)
    except SecretStoreError as error:
        raise ValueError(error.message) from None


# -- token fields ------------------------------------------------------------------

# Checked by core (check_pattern) with its own message; the pattern is core's
# grammar written into the OpenAPI schema.
TOKEN_NAMESPACES_PATTERN = f"^{NAMESPACE_PATTERN_REGEX}$"
NamespacePatterns = Annotated[
    list[str],
    Meta(
        min_length=1,
        max_length=MAX_TOKEN_PATTERNS,
        description="namespaces, or prefixes ending in '*' ('acme:*', '*')",
        extra_json_schema={
            "extra": {"items": {"type": "string", "pattern": TOKEN_NAMESPACES_PATTERN}}
        },
    ),
]

# Some character that is neither white space nor a control character, and no
# control character anywhere (TokenService.create's rules, for the OpenAPI schema).
_TOKEN_NAME_PATTERN = (
    rf"^[^{CONTROL_CHARACTERS}]*[^\s{CONTROL_CHARACTERS}][^{CONTROL_CHARACTERS}]*$"
)
TokenName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_TOKEN_NAME,
        description="not blank, no control characters",
        extra_json_schema={"extra": {"pattern": _TOKEN_NAME_PATTERN}},
    ),
]
