"""The hot read, ``GET /api/v1/secrets/{namespace}/{name}``, answered ahead of Litestar's routing.

Applications read secrets far more often than anything else happens here, and
on that request Litestar's per-request machinery (routing, middleware layers,
guards, dependency injection, response building) cost several times the
request's one database query (bench/README.md). :class:`ReadPath` serves the
successful read directly, with the same checks and the same answer, and leaves
everything else to the Litestar app:

- It answers only the plain success: a ``GET`` with no query string, a live
  bearer token holding ``read`` in the namespace (from the token cache or one
  query), names core accepts, and a secret that exists, has not expired and
  decrypts.
- Anything else (no token or a bad one, a name core refuses, a missing,
  expired or undecryptable secret, an unexpected error) goes, untouched, to the
  Litestar app, which answers it as it answers every request: errors,
  failed-authentication counting and rate limiting included. A read changes
  nothing, so trying it here first costs only time.
- Its answer is the Litestar route's, header for header, with the same
  request log line; ``tests/web/test_readpath.py`` compares the two.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

import msgspec

from core.models import Found
from core.validation import check_name, check_namespace
from web.api import API_PREFIX
from web.api.schemas import SecretRead
from web.auth import bearer_token
from web.requestlog import log_request
from web.security import headers_for

if TYPE_CHECKING:
    from litestar.types import HTTPScope, Send

    from core.runtime import Runtime

PREFIX = f"{API_PREFIX}/secrets/"
# The route's template as Litestar's request log line names it.
ROUTE = f"{API_PREFIX}/secrets/{{namespace}}/{{name}}"
_ENCODER = msgspec.json.Encoder()
_CONTENT_TYPE = (b"content-type", b"application/json")


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


# The security headers of an API answer, over http and over https (with HSTS).
_SECURITY = {scheme: _encoded(headers_for(PREFIX, scheme)) for scheme in ("http", "https")}


def is_plain_read(scope: Mapping[str, Any]) -> TypeGuard[HTTPScope]:
    """A request :class:`ReadPath` may try: ``GET`` of one secret, no query string."""
    path: str = scope.get("path", "")
    return (
        scope["type"] == "http"
        and scope.get("method") == "GET"
        and not scope.get("query_string")
        and not scope.get("root_path")
        and path.startswith(PREFIX)
        and path.count("/", len(PREFIX)) == 1
    )


class ReadPath:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def answer(self, scope: HTTPScope, send: Send) -> bool:
        """Send the answer and return True, or return False (having sent nothing)."""
        started = time.perf_counter()
        body = await self._body(scope)
        if body is None:
            return False
        headers = [_CONTENT_TYPE, (b"content-length", str(len(body)).encode())]
        headers += _SECURITY["https" if scope.get("scheme") == "https" else "http"]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
        log_request("GET", ROUTE, 200, started)
        return True

    async def _body(self, scope: HTTPScope) -> bytes | None:
        namespace, _, name = scope["path"][len(PREFIX) :].partition("/")
        token = _bearer(scope)
        if token is None:
            return None
        try:
            check_namespace(namespace)
            check_name(name)
            principal = await self._runtime.tokens.authenticate(token)
            if principal is None or not principal.may("read", namespace):
                return None
            result = await self._runtime.store.get(namespace, name)
            if not isinstance(result, Found):
                return None
            return _ENCODER.encode(SecretRead.of(result.secret))
        except Exception:
            return None


def _bearer(scope: HTTPScope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bearer_token(value.decode("latin-1"))
    return None


__all__ = ["ROUTE", "ReadPath", "is_plain_read"]
