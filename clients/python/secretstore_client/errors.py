"""The errors a call can raise: one class per API error code, all :class:`SecretStoreError`.

The service answers every failure as ``{"code", "message"}`` (API.md's table);
:func:`error_from_answer` turns such an answer into the class of its code, so
``except NotFound`` reads as the API does. An answer that is not one of ours
(a proxy's 502 page, say) becomes the base class with a code guessed from the
status. When no answer came at all, the error is :class:`Unreachable`.

Messages are the service's own, which never hold a value or a token.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, ClassVar

import httpx


class SecretStoreError(Exception):
    """A call failed. ``code`` is the API's error code, ``status`` the HTTP status."""

    default_code: ClassVar[str] = "unknown"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code: str = code or self.default_code
        # None only for Unreachable: no answer, so no status.
        self.status: int | None = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidArgument(SecretStoreError):
    """400: a malformed name, namespace, body, cursor or filter."""

    default_code = "invalid_argument"


class Unauthorized(SecretStoreError):
    """401: no token, or an unknown, expired or revoked one."""

    default_code = "unauthorized"


class Forbidden(SecretStoreError):
    """403: the token lacks the capability or the namespace."""

    default_code = "forbidden"


class NotFound(SecretStoreError):
    """404: no such secret (or version, or token)."""

    default_code = "not_found"


class Conflict(SecretStoreError):
    """409: a precondition (``if_version``, ``if_absent``) does not hold, or the state does not fit.

    ``current_version`` is the secret's version when the service named it
    (``None`` when there is no secret, or only a deleted one).
    """

    default_code = "conflict"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        current_version: int | None = None,
    ):
        super().__init__(message, code=code, status=status)
        self.current_version = current_version


class Expired(SecretStoreError):
    """410: the secret exists but its expiry has passed."""

    default_code = "expired"


class KeyUnavailable(SecretStoreError):
    """409: the secret's key version is no longer configured on the service."""

    default_code = "key_unavailable"


class ValueTooLarge(SecretStoreError):
    """413: the value is over 65,536 UTF-8 bytes."""

    default_code = "value_too_large"


class RateLimited(SecretStoreError):
    """429: too many requests or failed logins; ``retry_after`` is in seconds, when sent."""

    default_code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after


class DecryptionFailed(SecretStoreError):
    """500: the stored ciphertext does not authenticate (tampering, corruption, replaced key)."""

    default_code = "decryption_failed"


class InvalidKeys(SecretStoreError):
    """503: the service's key configuration is missing or malformed."""

    default_code = "invalid_keys"


class Unavailable(SecretStoreError):
    """503: a service behind the API (database, broker) cannot be reached."""

    default_code = "unavailable"


class Unreachable(SecretStoreError):
    """No answer: the service could not be reached (refused, timed out, connection lost)."""

    default_code = "unreachable"


class ConfigurationError(ValueError):
    """The client is misconfigured (no token, a malformed URL): a mistake to fix, not retry."""


ERROR_CLASSES: dict[str, type[SecretStoreError]] = {
    cls.default_code: cls
    for cls in (
        InvalidArgument,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Expired,
        KeyUnavailable,
        ValueTooLarge,
        RateLimited,
        DecryptionFailed,
        InvalidKeys,
        Unavailable,
    )
}

# For answers without our body (a proxy's error page): the code the status stands for.
_CODE_BY_STATUS = {
    400: "invalid_argument",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    410: "expired",
    413: "value_too_large",
    429: "rate_limited",
    503: "unavailable",
}


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds or an HTTP date), if any."""
    text = response.headers.get("retry-after", "").strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_from_answer(response: httpx.Response) -> SecretStoreError:
    """The error an unsuccessful answer stands for."""
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        code: str = body["code"]
        message = str(body.get("message") or code)
    else:
        code = _CODE_BY_STATUS.get(status, f"http_{status}")
        message = f"the service answered {status} {response.reason_phrase}".rstrip()
        body = {}
    cls = ERROR_CLASSES.get(code, SecretStoreError)
    if cls is Conflict:
        current = body.get("current_version")
        return Conflict(
            message,
            code=code,
            status=status,
            current_version=current if isinstance(current, int) else None,
        )
    if cls is RateLimited:
        return RateLimited(
            message, code=code, status=status, retry_after=retry_after_seconds(response)
        )
    return cls(message, code=code, status=status)
