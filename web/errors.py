"""Every failure as ``{"code", "message"}`` with the status of API.md's table, from one place.

:data:`STATUS_BY_CODE` is the one mapping from a :class:`SecretStoreError` code
to an HTTP status. Litestar's own exceptions (routing, validation, body size)
are translated into the same codes, so a client sees one error shape whatever
failed:

- validation of path, query or body, malformed JSON → 400 ``invalid_argument``;
- an unknown route → 404 ``not_found``;
- a known route with another method → 405 ``invalid_argument`` (with ``Allow``):
  API.md has no code of its own for it, and the request is a malformed one;
- a body over the app's limit → 413 ``value_too_large``;
- the database or the broker unreachable (connection-level errors only) → 503
  ``unavailable``.

Anything else is a bug: it is answered ``500 {"code": "internal_error",
"message": "internal error"}``, outside API.md's codes on purpose so that it is
never mistaken for a domain answer, and logged by exception type only, because
an exception's arguments can hold a value, a query parameter or key material.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg
import msgspec
import redis.exceptions
from dramatiq.errors import BrokerConnectionError
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from core.errors import ErrorCode, SecretStoreError
from web.ratelimit import RateLimited

log = logging.getLogger("secretstore.web")

STATUS_BY_CODE: dict[ErrorCode, int] = {
    "invalid_argument": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "expired": 410,
    "key_unavailable": 409,
    "value_too_large": 413,
    "rate_limited": 429,
    "decryption_failed": 500,
    "invalid_keys": 503,
    "unavailable": 503,
}

INTERNAL_ERROR = "internal_error"

# Litestar's HTTP exceptions carry a status only; these name its code.
_CODE_BY_STATUS: dict[int, ErrorCode] = {
    400: "invalid_argument",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid_argument",
    409: "conflict",
    410: "expired",
    413: "value_too_large",
    429: "rate_limited",
    503: "unavailable",
}

# Failures of the connection to a backing service, not of a statement: retrying
# later can succeed, so they are 503. Any other database error is a bug (500).
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionError and TimeoutError
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # shutdown, cannot connect now, query canceled
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    BrokerConnectionError,
)


class ErrorBody(msgspec.Struct):
    """The body of every error answer."""

    code: str
    message: str
    # a failed precondition (409 conflict): the secret's version, null when none
    current_version: int | msgspec.UnsetType | None = msgspec.UNSET


def error_response(
    code: str, message: str, status: int, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    return Response(
        ErrorBody(code=code, message=message),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    if isinstance(exc, HTTPException):
        return _http_exception(request, exc)
    if isinstance(exc, SerializationException):
        return error_response("invalid_argument", f"request body is not valid JSON: {exc}", 400)
    status, body, headers = error_answer(exc, _where(request))
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def error_answer(
    exc: BaseException, where: Mapping[str, str]
) -> tuple[int, ErrorBody, dict[str, str] | None]:
    """Status, body and extra headers of the answer to an exception that is not Litestar's.

    A domain error, a backing service that cannot be reached, or a bug; the
    last two are logged, by type only, with ``where`` (method and route
    template). The app's exception handler and :mod:`web.readpath` both answer
    through it.
    """
    if isinstance(exc, SecretStoreError):
        headers = None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        elif exc.code == "unauthorized":
            # RFC 9110: a 401 names the scheme that would be accepted.
            headers = {"WWW-Authenticate": "Bearer"}
        body = ErrorBody(exc.code, exc.message)
        if "current_version" in exc.details:
            body.current_version = exc.details["current_version"]
        return STATUS_BY_CODE[exc.code], body, headers
    if isinstance(exc, UNAVAILABLE_ERRORS):
        log.warning(
            "backing service unavailable", extra={"error_type": type(exc).__name__, **where}
        )
        return 503, ErrorBody("unavailable", "a backing service cannot be reached"), None
    log.error("unexpected error", extra={"error_type": _qualified(exc), **where})
    return 500, ErrorBody(INTERNAL_ERROR, "internal error"), None


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        return error_response("invalid_argument", validation_message(exc), 400)
    if isinstance(exc, NotFoundException):
        return error_response("not_found", "no such route", 404)
    if isinstance(exc, MethodNotAllowedException):
        allow = (exc.headers or {}).get("allow", "")
        message = f"method {request.method} is not allowed here"
        if allow:
            message += f"; allowed: {allow}"
        return error_response("invalid_argument", message, 405, {"Allow": allow} if allow else None)
    if isinstance(exc, RequestEntityTooLarge):
        limit = request.route_handler.resolve_request_max_body_size()
        message = f"request body is over {limit} bytes" if limit else "request body is too large"
        return error_response("value_too_large", message, 413)
    if status >= 500:
        if status == 503:
            return error_response("unavailable", "the service is unavailable", 503)
        log.error("unexpected error", extra={"error_type": _qualified(exc), **_where(request)})
        return error_response(INTERNAL_ERROR, "internal error", 500)
    code = _CODE_BY_STATUS.get(status, "invalid_argument")
    return error_response(code, str(exc.detail), status, exc.headers)


def validation_message(exc: ValidationException) -> str:
    """Litestar's per-field messages as one line: ``"limit (query): Expected `int`..."``.

    The detail of the exception is not used: it repeats the path, which names secrets.
    """
    parts: list[str] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        text = str(item.get("message", "invalid"))
        key, source = item.get("key"), item.get("source")
        source = getattr(source, "value", source)
        if key == "data" and source == "body":
            # The only failure Litestar reports for a body decoded by StrictBody.
            text = "a JSON request body is required"
        elif key and source:
            text = f"{key} ({source}): {text}"
        elif key:
            text = f"{key}: {text}"
        parts.append(text)
    return "; ".join(parts) or "the request is not valid"


def _where(request: Request[Any, Any, Any]) -> dict[str, str]:
    # The route's template, not the path: a path names secrets, which logs need not carry.
    return {"method": request.method, "route": request.scope.get("path_template", "")}


def _qualified(exc: BaseException) -> str:
    kind = type(exc)
    return f"{kind.__module__}.{kind.__qualname__}"


def exception_handlers() -> ExceptionHandlersMap:
    # One handler for everything: Litestar looks handlers up along the
    # exception's MRO, and every class ends at Exception.
    return {Exception: handle_exception}


# -- OpenAPI -------------------------------------------------------------------

_WHEN: dict[ErrorCode, str] = {
    "invalid_argument": "a malformed body, path or query (or an unknown query parameter)",
    "unauthorized": "no token, or an unknown, expired or revoked one",
    "forbidden": "the token lacks the capability or the namespace",
    "not_found": "no such secret or token",
    "conflict": "a precondition does not hold",
    "expired": "the secret's expiry has passed",
    "key_unavailable": "the secret's key version is no longer configured",
    "value_too_large": "the value is over 65,536 UTF-8 bytes, or the body over 512 KiB",
    "rate_limited": "too many failed authentication attempts (see Retry-After)",
    "decryption_failed": "the stored ciphertext does not authenticate",
    "invalid_keys": "the key configuration is missing or malformed",
    "unavailable": "the database or the broker cannot be reached",
}

# What every token-checked route can answer: a bad query, path or body, no or a
# weak token, too many failed tokens, the database unreachable.
AUTHENTICATED: tuple[ErrorCode, ...] = (
    "invalid_argument",
    "unauthorized",
    "forbidden",
    "rate_limited",
    "unavailable",
)


def error_responses(*codes: ErrorCode) -> dict[int, ResponseSpec]:
    """OpenAPI responses for these codes and the ones every token-checked route can give."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in _unique((*codes, *AUTHENTICATED)):
        by_status.setdefault(STATUS_BY_CODE[code], []).append(code)
    return {
        status: ResponseSpec(
            data_container=ErrorBody,
            description="; ".join(f"`{code}`: {_WHEN[code]}" for code in listed),
            generate_examples=False,
        )
        for status, listed in sorted(by_status.items())
    }


def _unique(codes: Iterable[ErrorCode]) -> list[ErrorCode]:
    return list(dict.fromkeys(codes))
