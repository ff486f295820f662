"""Security headers on every response the app sends.

They are added in a ``before_send`` hook rather than a middleware: Litestar
runs hooks for every message, including the 404 and 405 answers its router
gives before any middleware is reached, so no response goes out without them.

- The Content-Security-Policy allows only the app's own scripts, styles and
  images (the dashboard serves htmx itself) and forbids framing, plugins and
  ``<base>`` rewriting; a JSON answer is harmless under it.
- ``Cache-Control: no-store`` on the API: its answers hold secret values and
  token texts, which no browser or proxy cache may keep.
- HSTS only when the request came over https (with uvicorn behind a proxy, as
  reported by ``--proxy-headers``): over plain http the header is ignored by
  browsers and would only mislead.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"
API_PREFIX = "/api/"

_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


def headers_for(path: str, scheme: str) -> dict[str, str]:
    """The security headers of every answer to a request for ``path`` over ``scheme``."""
    headers = dict(_ALWAYS)
    if path.startswith(API_PREFIX):
        headers["Cache-Control"] = "no-store"
    if scheme == "https":
        headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    return headers


async def security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: set the headers on the start of every HTTP response."""
    if message["type"] != "http.response.start":
        return
    message.setdefault("headers", [])
    headers = MutableScopeHeaders.from_message(message)
    for name, value in headers_for(scope.get("path", ""), scope.get("scheme", "")).items():
        headers[name] = value
