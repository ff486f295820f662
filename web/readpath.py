"""The hot read, ``GET /api/v1/secrets/{namespace}/{name}``, answered ahead of Litestar's routing.

Applications read secrets far more often than anything else happens here, and
on that request Litestar's per-request machinery (routing, middleware layers,
guards, dependency injection, response building) cost several times the
request's one database query (bench/README.md). :class:`ReadPath` sends the
successful read itself and leaves everything else to the Litestar app:

- The answer is the route's own: both call :func:`web.api.secrets.read_secret`
  (names, authorization, the store), and the read path sends its result with
  the route's status, headers and request log line.
  ``tests/web/test_readpath.py`` compares the two, header for header.
- It tries only a ``GET`` with no query string and a bearer token. A token
  that does not authenticate goes to the Litestar app, whose guard counts the
  failed authentication and rate-limits.
- An expected failure (a ``SecretStoreError`` such as ``forbidden`` or
  ``not_found``, or the database unreachable) is handed, untouched, to the
  Litestar app, which answers it as it answers every request. A read changes
  nothing, so trying it here first costs only time.
- Anything else is a bug. It is not handed over (the route could answer as
  if nothing had happened, hiding a bug of this module): it is answered here
  exactly as the app answers a bug, through :func:`web.errors.error_answer`,
  500 ``internal_error`` logged by exception type only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

import msgspec

from core.errors import SecretStoreError
from web.api import API_PREFIX
from web.api.secrets import etag, read_secret
from web.auth import bearer_token
from web.errors import UNAVAILABLE_ERRORS, error_answer
from web.requestlog import log_request
from web.security import headers_for

if TYPE_CHECKING:
    from litestar.types import HTTPScope, Send

    from core.runtime import Runtime

PREFIX = f"{API_PREFIX}/secrets/"
# The route's template as Litestar's request log line names it.
ROUTE = f"{API_PREFIX}/secrets/{{namespace}}/{{name}}"
# What the Litestar app answers as well as the read path would have: a domain
# error, or a backing service that cannot be reached (503 there).
HANDED_OVER: tuple[type[BaseException], ...] = (SecretStoreError, *UNAVAILABLE_ERRORS)
# Where a failure happened, as the app's error log lines name it.
_WHERE = {"method": "GET", "route": ROUTE}
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
        token = _bearer(scope)
        if token is None:
            return False
        runtime = self._runtime
        namespace, _, name = scope["path"][len(PREFIX) :].partition("/")
        try:
            principal = await runtime.tokens.authenticate(token)
            if principal is None:
                return False
            read = await read_secret(runtime.store, principal, namespace, name)
            body = _ENCODER.encode(read)
        except HANDED_OVER:
            return False
        except Exception as bug:
            # Outside Litestar, so outside its exception handler: the one place
            # this module answers what it did not expect, as the app would.
            status, error, extra = error_answer(bug, _WHERE)
            encoded = _ENCODER.encode(error)
            headers = _headers(scope, encoded)
            if extra:
                headers += _encoded(extra)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": encoded, "more_body": False})
            log_request("GET", ROUTE, status, started)
            return True
        headers = _headers(scope, body)
        headers.append((b"etag", etag(read.version).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
        log_request("GET", ROUTE, 200, started)
        return True


def _headers(scope: HTTPScope, body: bytes) -> list[tuple[bytes, bytes]]:
    headers = [_CONTENT_TYPE, (b"content-length", str(len(body)).encode())]
    headers += _SECURITY["https" if scope.get("scheme") == "https" else "http"]
    return headers


def _bearer(scope: HTTPScope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bearer_token(value.decode("latin-1"))
    return None


__all__ = ["HANDED_OVER", "ROUTE", "ReadPath", "is_plain_read"]
