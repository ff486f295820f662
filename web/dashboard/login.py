"""Signing in with an API token, and out.

The token is checked exactly as the API checks a bearer token
(``TokenService.authenticate``); the session then keeps only the token's id.
Failed attempts count against the client in the app's shared failure limiter
(``web.ratelimit``), and a client over the limit is refused before its token
is even looked at.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import URLEncodedBody
from litestar.plugins.htmx import ClientRedirect, HTMXRequest
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from core.errors import SecretStoreError
from web.appstate import runtime_of
from web.dashboard.forms import LoginForm
from web.dashboard.session import session_data
from web.ratelimit import client_address, failure_limiter, rate_limited

HOME = "/secrets"


def _go(request: HTMXRequest, location: str) -> Response[Any]:
    if request.htmx:
        return ClientRedirect(location)
    return Redirect(location, status_code=HTTP_303_SEE_OTHER)


@get("/", name="home")
async def home() -> Redirect:
    # /secrets sends a visitor without a session on to /login.
    return Redirect(HOME, status_code=HTTP_303_SEE_OTHER)


@get("/login")
async def login_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    if request.session.get("token_id"):
        return Redirect(HOME, status_code=HTTP_303_SEE_OTHER)
    return Template("login.html", context={})


@post("/login", status_code=200)
async def login(request: HTMXRequest, data: URLEncodedBody[LoginForm]) -> Response[Any]:
    limiter = failure_limiter(request)
    client = client_address(request)
    if (wait := await limiter.retry_after(client)) is not None:
        raise rate_limited(wait)
    principal = await runtime_of(request).tokens.authenticate(data.token.strip())
    if principal is None:
        if (wait := await limiter.record_failure(client)) is not None:
            raise rate_limited(wait)
        raise SecretStoreError("unauthorized", "unknown, revoked or expired token")
    await limiter.reset(client)
    request.set_session(session_data(principal.token_id))
    return _go(request, HOME)


@post("/logout", status_code=200)
async def logout(request: HTMXRequest) -> Response[Any]:
    request.clear_session()
    return _go(request, "/login")


ROUTES = [home, login_page, login, logout]
