"""A client for the secret store's JSON API.

The default path::

    from secretstore_client import SecretStoreClient, Conflict

    with SecretStoreClient() as client:   # SECRET_STORE_URL, SECRET_STORE_TOKEN
        client.put("acme:prod", "DATABASE_URL", "postgres://...", metadata={"owner": "db"})
        secret = client.get("acme:prod", "DATABASE_URL")
        env = client.get_many("acme:prod")  # {name: value} of every active secret

:class:`AsyncSecretStoreClient` is the same, awaited. Every failure is a
:class:`SecretStoreError` subclass named after the API's error code
(``NotFound``, ``Conflict``, ...), or :class:`Unreachable` when no answer came.

Caveats: idempotent calls (reads, deletes, puts with ``if_version`` or
``if_absent``) are retried on ``503``, ``429`` and connection errors (see
:class:`RetryPolicy`); a plain ``put`` is not, because it may have been written.
Results never show a value in their ``repr``, but ``Secret.value`` is the
plaintext: keep it out of logs.
"""

from secretstore_client.aio import AsyncSecretStoreClient
from secretstore_client.client import SecretStoreClient
from secretstore_client.errors import (
    ConfigurationError,
    Conflict,
    DecryptionFailed,
    Expired,
    Forbidden,
    InvalidArgument,
    InvalidKeys,
    KeyUnavailable,
    NotFound,
    RateLimited,
    SecretStoreError,
    Unauthorized,
    Unavailable,
    Unreachable,
    ValueTooLarge,
)
from secretstore_client.models import (
    AuditVerification,
    CreatedToken,
    DeleteResult,
    Event,
    NamespaceCount,
    PutResult,
    RestoreResult,
    Secret,
    SecretInfo,
    TokenInfo,
    UpdateResult,
    VersionInfo,
)
from secretstore_client.retry import RetryPolicy

__all__ = [
    "AsyncSecretStoreClient",
    "AuditVerification",
    "ConfigurationError",
    "Conflict",
    "CreatedToken",
    "DecryptionFailed",
    "DeleteResult",
    "Event",
    "Expired",
    "Forbidden",
    "InvalidArgument",
    "InvalidKeys",
    "KeyUnavailable",
    "NamespaceCount",
    "NotFound",
    "PutResult",
    "RateLimited",
    "RestoreResult",
    "RetryPolicy",
    "Secret",
    "SecretInfo",
    "SecretStoreClient",
    "SecretStoreError",
    "TokenInfo",
    "Unauthorized",
    "Unavailable",
    "Unreachable",
    "UpdateResult",
    "ValueTooLarge",
    "VersionInfo",
]
