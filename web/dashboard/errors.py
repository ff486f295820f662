"""Failures on dashboard routes, shown as HTML next to what failed.

An htmx request that fails gets an error fragment with its real status code
(the page's htmx config swaps 4xx/5xx answers), retargeted to the error slot
of the element that sent it: ``#<element id>-error``, or ``#page-error`` when
the element has no id. A plain browser request gets an error page. A session
without a live token goes back to the login page.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, PermissionDeniedException, ValidationException
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ExceptionHandlersMap

from core.errors import SecretStoreError
from web.dashboard.context import LoginRequired
from web.errors import STATUS_BY_CODE, UNAVAILABLE_ERRORS, validation_message
from web.ratelimit import RateLimited

log = logging.getLogger("secretstore.dashboard")

# Only a plain id goes back into a header and a CSS selector.
_ELEMENT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,80}")


def _error_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    headers = dict(headers or {})
    context = {"code": code, "message": message}
    if request.headers.get("hx-request") == "true":
        trigger = request.headers.get("hx-trigger") or ""
        slot = f"#{trigger}-error" if _ELEMENT_ID.fullmatch(trigger) else "#page-error"
        headers.update({"HX-Retarget": slot, "HX-Reswap": "innerHTML"})
        return Template("_error.html", context=context, status_code=status, headers=headers)
    return Template("error.html", context=context, status_code=status, headers=headers)


def store_error(request: Request[Any, Any, Any], exc: SecretStoreError) -> Response[Any]:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return _error_response(request, STATUS_BY_CODE[exc.code], exc.code, exc.message, headers)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        # The CSRF cookie is missing or does not match the page's token: a
        # stale tab or a forged request. Reloading fetches a fresh token.
        return _error_response(
            request, exc.status_code, "forbidden", "the form expired; reload the page and retry"
        )
    if isinstance(exc, ValidationException):
        return _error_response(request, 400, "invalid_argument", validation_message(exc))
    code = "not_found" if exc.status_code == 404 else "invalid_argument"
    if exc.status_code >= 500:
        code = "unavailable"
    return _error_response(request, exc.status_code, code, str(exc.detail))


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Log lines carry the type only: an exception's text may quote input.
    if isinstance(exc, UNAVAILABLE_ERRORS):
        log.warning("backing service unavailable", extra={"error_type": type(exc).__name__})
        return _error_response(request, 503, "unavailable", "a backing service cannot be reached")
    log.error("dashboard request failed", extra={"error_type": type(exc).__name__})
    return _error_response(request, 500, "internal_error", "internal error")


def login_required(request: Request[Any, Any, Any], _: LoginRequired) -> Response[Any]:
    if request.headers.get("hx-request") == "true":
        return ClientRedirect("/login")
    return Redirect("/login", status_code=HTTP_303_SEE_OTHER)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    LoginRequired: login_required,
    SecretStoreError: store_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
