"""The one error type of the secret store and its closed set of codes.

Every failure a caller can act on is a :class:`SecretStoreError` whose ``code``
is one of :data:`ERROR_CODES` (the table in API.md). Messages are written for
people and never carry a value, a DEK or KEK material.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

ErrorCode = Literal[
    # malformed body or query, bad name/namespace, ttl, retention, cursor, filter
    "invalid_argument",
    # no token, unknown or revoked token
    "unauthorized",
    # the token lacks the capability or the namespace
    "forbidden",
    # no such secret (or token)
    "not_found",
    # a precondition does not hold, or the operation does not fit the secret's state
    "conflict",
    # the secret exists but its expiry has passed
    "expired",
    # the row's key version is no longer configured (a KEK was retired too soon)
    "key_unavailable",
    # the value is over 65,536 UTF-8 bytes
    "value_too_large",
    # too many requests or failed logins
    "rate_limited",
    # the stored ciphertext does not authenticate (tampering, corruption, replaced KEK)
    "decryption_failed",
    # the deployment's key configuration is missing or malformed
    "invalid_keys",
    # a backing service (database, broker) cannot be reached
    "unavailable",
]

ERROR_CODES: frozenset[str] = frozenset(get_args(ErrorCode))


class SecretStoreError(Exception):
    """A failure with a stable ``code`` from API.md and a human ``message``.

    ``details`` are the answer's extra fields (a failed precondition's
    ``current_version``); like the message, never a value or key material.
    """

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"SecretStoreError({self.code!r}, {self.message!r})"
