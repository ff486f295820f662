"""The Litestar application: the JSON API under /api/v1 and the dashboard, over one core.

``create_app()`` is what ``uvicorn --factory web.app:create_app`` serves.

- Errors: one handler for every exception (:mod:`web.errors`), so the API and
  Litestar's own failures (404, 405, validation, body size) share one shape.
- Security headers: a ``before_send`` hook (:mod:`web.security`), so even the
  router's own 404 and 405 answers carry them.
- Request bodies are limited to :data:`MAX_BODY_BYTES`.
- OpenAPI: ``/schema`` and ``/schema/openapi.json`` (and ``.yaml``). No HTML
  viewer is served: those load their scripts from a CDN, which the
  Content-Security-Policy forbids and a secret store should not do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import Message, Scope

from core.db import close_pool, configure_database, connect, open_pool
from core.logs import configure_logging
from core.runtime import Runtime, build_runtime
from core.validation import MAX_METADATA_DEPTH
from web.api import api_router
from web.api.fields import MillisecondsSchema
from web.auth import BEARER_SCHEME
from web.dashboard import dashboard_parts
from web.errors import STATUS_BY_CODE, exception_handlers
from web.ratelimit import (
    MAX_FAILURES,
    STATE_KEY,
    WINDOW_SECONDS,
    FailureLimiter,
    redis_failure_limiter,
)
from web.readpath import ReadPath, is_plain_read
from web.requestlog import RequestLogMiddleware
from web.security import security_headers

# The largest legal PUT body, with every character of the value and of the
# metadata written as a 6-byte JSON escape (\u0001), is about 432 KiB; the
# limit leaves room for that so any valid body fits however a client encodes it.
MAX_BODY_BYTES = 512 * 1024


async def complete_options_allow(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: list every method of the path in an OPTIONS answer.

    Litestar 2.25 builds the automatic OPTIONS answer of a path from its first
    handler only, so ``OPTIONS /api/v1/secrets/ns/x`` said ``Allow: GET,
    OPTIONS`` (litestar-org/litestar#4169, fixed in 3.0 only); its routes know
    every method.
    """
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    if message["status"] != HTTP_204_NO_CONTENT:
        return
    template = scope.get("path_template")
    methods = {
        method
        for route in Litestar.from_scope(scope).routes
        if isinstance(route, HTTPRoute) and route.path_format == template
        for method in route.methods
    }
    if methods:
        message.setdefault("headers", [])
        MutableScopeHeaders.from_message(message)["Allow"] = ", ".join(sorted(methods))


class SecretStoreApp(Litestar):
    """Litestar, with the hot read (:mod:`web.readpath`) tried before its routing."""

    read_path: ReadPath | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        read_path = self.read_path
        if read_path is not None and is_plain_read(scope) and await read_path.answer(scope, send):
            return
        await super().__call__(scope, receive, send)


API_DECISIONS = f"""
What this API adds to the contract of shared/API.md:

- An unknown route is 404 `not_found`; a known path with another method is 405
  `invalid_argument`, with `Allow`.
- A request body over {MAX_BODY_BYTES // 1024} KiB is 413 `value_too_large` (every valid PUT fits,
  however its JSON escapes characters).
- Bodies are decoded strictly: a wrong type, a missing or unknown field is 400
  `invalid_argument`, and so is an unknown query parameter. A duration may be
  written `1000` or `1000.0`, never `"1000"` or `1.5`.
- The names `.` and `..` are refused in paths: URL clients remove such segments.
- Metadata holds no U+0000 (PostgreSQL cannot store it) and nests at most
  {MAX_METADATA_DEPTH} levels deep.
- A presented token that is unknown, expired or revoked counts as a failed
  authentication: after {MAX_FAILURES} within {WINDOW_SECONDS:g} s from one client (an
  IPv4 address, or an IPv6 /64), counted across every web process, the answer
  is 429 `rate_limited` with `Retry-After`. No token at all is not counted, and
  a valid token is never refused.
- A token can only create tokens holding capabilities and namespace patterns
  it holds itself, expiring no later than itself (403 `forbidden` otherwise);
  it lists and revokes only tokens whose patterns its own cover.
- Rotation and cleanup need `admin` with the pattern `*` (403 `forbidden` for a
  namespace-scoped admin).
- `GET /rotation` is 503 `unavailable` while Redis cannot be reached.
- A server bug is 500 `{{"code": "internal_error"}}`, on purpose not one of
  API.md's codes, so that it is never taken for a domain answer.
"""


def api_description() -> str:
    rows = "\n".join(f"| `{code}` | {status} |" for code, status in STATUS_BY_CODE.items())
    return (
        "The JSON API of the secret store. Every error is a JSON body"
        ' `{"code", "message"}` with this status:\n\n| code | status |\n|---|---|\n'
        f"{rows}\n{API_DECISIONS}"
    )


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Secret store",
        version="1",
        description=api_description(),
        path="/schema",
        render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
        components=Components(
            security_schemes={
                BEARER_SCHEME: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="an API token, or the bootstrap SECRET_STORE_ADMIN_TOKEN",
                )
            }
        ),
    )


def create_app(
    runtime: Runtime | None = None,
    *,
    manage_pool: bool = True,
    failure_limiter: FailureLimiter | None = None,
    read_path: bool = True,
) -> SecretStoreApp:
    """The application over ``runtime`` (by default built from the environment).

    ``manage_pool=False`` leaves the database pool to the caller (a test
    session that already holds one). ``failure_limiter`` replaces the default
    failed-authentication limiter (10 per minute per client, counted in Redis
    when ``REDIS_URL`` is set). ``read_path=False`` leaves every request to
    Litestar's routing (to compare the two answers).
    """
    runtime = runtime or build_runtime()
    settings = runtime.settings
    configure_logging(settings.log_level)
    if settings.database_url and manage_pool:
        configure_database(settings.database_url)
    limiter = failure_limiter or (
        redis_failure_limiter(settings.redis_url, settings.redis_key("ratelimit"))
        if settings.redis_url
        else FailureLimiter()
    )

    @asynccontextmanager
    async def database_pool(_: Litestar) -> AsyncIterator[None]:
        await open_pool(min_size=2, max_size=20)
        try:
            yield
        finally:
            await close_pool()

    @asynccontextmanager
    async def limiter_connection(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await limiter.close()

    @asynccontextmanager
    async def token_cache(_: Litestar) -> AsyncIterator[None]:
        # Checked tokens are kept in memory while a connection LISTENs for
        # revocations (core.tokencache); until it does, every check reads the table.
        runtime.tokens.cache.start(connect)
        try:
            yield
        finally:
            await runtime.tokens.cache.stop()

    dashboard = dashboard_parts(runtime)
    kwargs: dict[str, Any] = {
        "route_handlers": [api_router, *dashboard.route_handlers],
        "lifespan": [*([database_pool] if manage_pool else []), token_cache, limiter_connection],
        "exception_handlers": exception_handlers(),
        "before_send": [security_headers, complete_options_allow],
        "middleware": [RequestLogMiddleware()],
        "plugins": [MillisecondsSchema(), *dashboard.plugins],
        "state": {
            "runtime": runtime,
            STATE_KEY: limiter,
        },
        "openapi_config": openapi_config(),
        "request_max_body_size": MAX_BODY_BYTES,
        # configure_logging() owns the root logger; Litestar's default config
        # would replace its handler, and would log exceptions with their
        # arguments, which web.errors deliberately does not.
        "logging_config": None,
        "debug": False,
    }
    if dashboard.template_config is not None:
        kwargs["template_config"] = dashboard.template_config
    app = SecretStoreApp(**kwargs)
    if read_path:
        app.read_path = ReadPath(runtime)
    return app
