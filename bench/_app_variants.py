"""Prototype variants of the real app for bench/api.py --variants; not part of the product.

Each factory builds the shipped ``web.app.create_app()`` after one targeted
change, to measure what that change would gain before anyone makes it:

- ``token_cache``: TokenService.authenticate answers from an in-process dict
  after the first lookup of a token. It has NO revocation semantics: it only
  bounds from above what any token cache could gain (see bench/README.md for
  a design that keeps revocation immediate).

- ``lean_get``: ``token_cache`` plus a plain ASGI shortcut in front of the
  Litestar app for ``GET /api/v1/secrets/{namespace}/{name}`` without a query
  string: the same checks (names, token, capability and namespace) and one
  ``store.get_or_raise``, the same JSON and security headers, but no Litestar
  routing, middleware, guards or dependency injection. Anything else, and any
  error, goes to the Litestar app. It bounds what trimming the web layer on
  the hot path could gain.

Two earlier variants, a pool without asyncpg's reset query and the query guard
run as a coroutine, were measured here and have since landed in core/db.py and
web/api/params.py (commit "Hot path: skip asyncpg's session reset ...").
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar

from core.access import Principal
from core.tokens import TokenService


def _patch_tokens() -> None:
    authenticate = TokenService.authenticate
    cache: dict[str, Principal | None] = {}

    async def cached(self: TokenService, token: str) -> Principal | None:
        if token not in cache:
            cache[token] = await authenticate(self, token)
        return cache[token]

    TokenService.authenticate = cached  # type: ignore[method-assign]


def token_cache() -> Litestar:
    from web.app import create_app

    _patch_tokens()
    return create_app()


def lean_get() -> Any:
    from core.validation import check_name, check_namespace
    from web.api.schemas import SecretRead
    from web.app import create_app
    from web.auth import bearer_token
    from web.security import _ALWAYS

    _patch_tokens()
    app = create_app()
    runtime = app.state["runtime"]
    prefix = "/api/v1/secrets/"
    headers = [(k.lower().encode(), v.encode()) for k, v in _ALWAYS.items()]
    headers += [(b"cache-control", b"no-store"), (b"content-type", b"application/json")]

    async def lean(scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["query_string"]
            or not path.startswith(prefix)
            or path.count("/") != 5
        ):
            return await app(scope, receive, send)
        namespace, name = path[len(prefix) :].split("/")
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        token = bearer_token(authorization)
        try:
            check_namespace(namespace)
            check_name(name)
            principal = await runtime.tokens.authenticate(token) if token else None
            if principal is None or not principal.may("read", namespace):
                return await app(scope, receive, send)
            secret = await runtime.store.get_or_raise(namespace, name)
        except Exception:
            return await app(scope, receive, send)
        body = msgspec.json.encode(SecretRead.of(secret))
        length = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers + length})
        await send({"type": "http.response.body", "body": body})
        return None

    return lean
