"""Path and query parameters shared by the API's routes.

Names and namespaces are checked by core (``check_namespace``, ``check_name``)
with its own messages; the patterns below are core's grammar
(``core.validation``) written into the OpenAPI schema (``schema_extra``
documents without enforcing), and ``tests/web/test_openapi.py`` checks that
they agree with core's checks.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import PathParameter, QueryParameter

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
SecretIdFilter = Annotated[
    str | None,
    QueryParameter(description="a secret_id", schema_extra={"format": "uuid"}),
]

__all__ = [
    "DEFAULT_PAGE_LIMIT",
    "Cursor",
    "EventTypeFilter",
    "Limit",
    "NameFilter",
    "NamePath",
    "NamespaceFilter",
    "NamespacePath",
    "OrderQuery",
    "SecretIdFilter",
    "refuse_unknown_query",
]
