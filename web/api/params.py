"""Path and query parameters shared by the API's routes.

Names and namespaces are checked by core (``check_namespace``, ``check_name``)
with its own messages; the patterns below are core's grammar
(``core.validation``) written into the OpenAPI schema (``schema_extra``
documents without enforcing), and ``tests/web/test_openapi.py`` checks that
they agree with core's checks.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import HeaderParameter, PathParameter, QueryParameter

from core.models import EventType
from core.validation import (
    DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
    NAME_REGEX,
    NAMESPACE_REGEX,
    Order,
    invalid,
)

NAMESPACE_PATTERN = f"^{NAMESPACE_REGEX}$"
NAME_PATTERN = f"^{NAME_REGEX}$"


async def refuse_unknown_query(
    connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
) -> None:
    """Guard: a query parameter the route does not take is 400, not silently ignored.

    A misspelt filter (``/events?namespaces=acme``) would otherwise answer as
    if there were no filter at all, which for an audit log reads as a wrong
    answer rather than an error.
    """
    # A coroutine, so Litestar calls it on the event loop instead of a thread.
    if not connection.query_params:
        return
    known = {
        parameter.kwarg_definition.name or name
        for name, parameter in route_handler.parsed_fn_signature.parameters.items()
        if isinstance(parameter.kwarg_definition, QueryParameter)
    }
    unknown = sorted(set(connection.query_params) - known)
    if unknown:
        takes = f"; this route takes: {', '.join(sorted(known))}" if known else ""
        raise invalid(f"unknown query parameter {unknown[0]!r}{takes}")


_NAMESPACE_DOC = "1-128 characters from A-Z a-z 0-9 . _ : @ -, starting with a letter or digit"
_NAME_DOC = (
    "1-256 characters; no '/', no control characters, no leading or trailing white space;"
    " not '.' or '..'"
)

NamespacePath = Annotated[
    str,
    PathParameter(description=_NAMESPACE_DOC, schema_extra={"pattern": NAMESPACE_PATTERN}),
]
NamePath = Annotated[
    str,
    PathParameter(description=_NAME_DOC, schema_extra={"pattern": NAME_PATTERN}),
]

Limit = Annotated[
    int,
    QueryParameter(ge=1, le=MAX_PAGE_LIMIT, description="page size"),
]
Cursor = Annotated[
    str | None,
    QueryParameter(description="opaque: the next_cursor of the previous page"),
]
OrderQuery = Annotated[
    Order,
    QueryParameter(description="desc (default): newest first; asc: oldest first"),
]
NamespaceFilter = Annotated[
    str | None,
    QueryParameter(description=_NAMESPACE_DOC, schema_extra={"pattern": NAMESPACE_PATTERN}),
]
NameFilter = Annotated[
    str | None,
    QueryParameter(description=_NAME_DOC, schema_extra={"pattern": NAME_PATTERN}),
]
EventTypeFilter = Annotated[EventType | None, QueryParameter(description="event type")]
VersionQuery = Annotated[
    int | None,
    QueryParameter(ge=1, le=2147483647, description="read this earlier version instead"),
]
StateQuery = Annotated[
    Literal["deleted"] | None,
    # "state" is a name Litestar reserves for its own argument.
    QueryParameter(
        name="state",
        description="absent: active and expired secrets; deleted: only deleted ones",
    ),
]
PurgeQuery = Annotated[
    bool,
    QueryParameter(description="true: destroy the secret and every version now"),
]
# Typed str, not str | None, so the schema says string only; absent is "".
IfMatch = Annotated[
    str,
    HeaderParameter(
        name="If-Match",
        required=False,
        description='write only when the current version is this one: "<version>"',
        schema_extra={"pattern": r'^"[1-9][0-9]{0,8}"$'},
    ),
]
IfNoneMatch = Annotated[
    str,
    HeaderParameter(
        name="If-None-Match",
        required=False,
        description="*: write only when no secret of that name exists",
        schema_extra={"pattern": r"^\*$"},
    ),
]


def parse_if_match(header: str) -> int | None:
    """``If-Match: "<version>"`` as the version number; a malformed one is ``invalid_argument``."""
    if not header:
        return None
    text = header.strip()
    if len(text) >= 3 and text[0] == text[-1] == '"' and text[1:-1].isdigit():
        version = int(text[1:-1])
        if 1 <= version <= 999_999_999:
            return version
    raise invalid('If-Match must be a version in double quotes, e.g. "3"')


def parse_if_none_match(header: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    raise invalid("If-None-Match takes only *")


SecretIdFilter = Annotated[
    str | None,
    QueryParameter(description="a secret_id", schema_extra={"format": "uuid"}),
]

__all__ = [
    "DEFAULT_PAGE_LIMIT",
    "Cursor",
    "EventTypeFilter",
    "IfMatch",
    "IfNoneMatch",
    "Limit",
    "NameFilter",
    "NamePath",
    "NamespaceFilter",
    "NamespacePath",
    "OrderQuery",
    "PurgeQuery",
    "SecretIdFilter",
    "StateQuery",
    "VersionQuery",
    "parse_if_match",
    "parse_if_none_match",
    "refuse_unknown_query",
]
