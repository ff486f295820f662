"""Bearer tokens on the API: who is calling, and may they do this here.

:func:`require_token` is a guard on every ``/api/v1`` route except health and
readiness. It runs before the path, query and body are parsed, so a caller
without a valid token learns nothing else about the request. The token is
checked on every request, but not looked up every time: the process's token
cache (:mod:`core.tokencache`, ADR 0007) answers for the tokens it holds while
it listens for revocations, and the table answers otherwise. The cache checks
each token's expiry on every use and drops a token when the ``NOTIFY`` of its
revocation arrives, so an expired or revoked token is refused as soon as this
process hears of it.

Failed authentication (a token that is present but unknown, expired, revoked
or malformed) counts against the client in :mod:`web.ratelimit`; over the limit
it is answered 429 instead of 401. A request without any token is not counted:
it guesses nothing. A valid token is never refused by the limiter: refusing it
would let anyone behind the same address (or the same proxy) lock every other
client out, and a token of 256 random bits gains nothing from a success oracle.

Handlers then call :func:`core.access.authorize` with the capability and
namespace they act on: a missing capability or a namespace outside the token's
patterns is 403 ``forbidden``.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from core.errors import SecretStoreError
from web.appstate import runtime_of
from web.ratelimit import client_address, failure_limiter, rate_limited

BEARER_SCHEME = "BearerToken"
SECURITY: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def require_token(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: authenticate the bearer token and keep its principal as ``request.user``."""
    authorization = connection.headers.get("authorization")
    if authorization is None:
        raise SecretStoreError("unauthorized", "missing bearer token (Authorization: Bearer ...)")
    runtime = runtime_of(connection)
    token = bearer_token(authorization)
    principal = await runtime.tokens.authenticate(token) if token else None
    if principal is None:
        wait = await failure_limiter(connection).record_failure(client_address(connection))
        if wait is not None:
            raise rate_limited(wait)
        raise SecretStoreError("unauthorized", "unknown, expired or revoked token")
    connection.scope["user"] = principal
    connection.scope["auth"] = principal.token_id
