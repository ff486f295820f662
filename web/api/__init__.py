"""The JSON API of shared/API.md, under ``/api/v1``.

Every route but health and readiness sits behind :func:`web.auth.require_token`,
set once on the inner router so that a new route cannot be added without it.
Request bodies are decoded strictly (:mod:`web.api.body`).
"""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from web.api.audit import AuditController
from web.api.body import StrictBody
from web.api.deps import DEPENDENCIES
from web.api.listings import EventController, NamespaceController
from web.api.maintenance import CleanupController, RotationController
from web.api.operations import health, ready
from web.api.params import refuse_unknown_query
from web.api.secrets import SecretController
from web.api.tokens import TokenController
from web.auth import SECURITY, require_token

API_PREFIX = "/api/v1"


async def token_route_guard(
    connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
) -> None:
    """The token, then the query parameters: one guard, as Litestar copies the handler per guard."""
    await require_token(connection, route_handler)
    await refuse_unknown_query(connection, route_handler)


token_router = Router(
    path="/",
    guards=[token_route_guard],
    security=SECURITY,
    dependencies=DEPENDENCIES,
    route_handlers=[
        SecretController,
        NamespaceController,
        EventController,
        AuditController,
        RotationController,
        CleanupController,
        TokenController,
    ],
)

api_router = Router(
    path=API_PREFIX,
    dto=StrictBody,
    return_dto=None,
    route_handlers=[health, ready, token_router],
)

__all__ = ["API_PREFIX", "api_router"]
