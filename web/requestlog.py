"""One structured log line per request: method, route template, status, duration.

The route template (``/api/v1/secrets/{namespace:str}/{name:str}``) is logged
rather than the path, so the line says which endpoint answered without
carrying query strings or anything a client typed into them.
"""

from __future__ import annotations

import time

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.logs import fast_logger

log = fast_logger("secretstore.web.request")


def log_request(method: object, route: object, status: int, started: float) -> None:
    """The request's line; ``started`` is its ``time.perf_counter()`` on arrival."""
    log.info(
        "request",
        method=method,
        route=route,
        status=status,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )


class RequestLogMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, send_and_note_status)
        finally:
            log_request(scope.get("method"), scope.get("path_template"), status, started)
