"""What the calls return: frozen dataclasses built from the API's JSON answers.

Timestamps become timezone-aware ``datetime`` objects. ``version`` is ``None``
only from a service that predates versions. A :class:`Secret`'s ``repr``
leaves out its value, so logging a result never logs a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def parse_timestamp(text: str) -> datetime:
    # RFC 3339 with "Z": fromisoformat reads "Z" only from Python 3.11 on.
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def _maybe_timestamp(value: Any) -> datetime | None:
    return None if value is None else parse_timestamp(value)


def _maybe_int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


@dataclass(frozen=True)
class Secret:
    """A secret's value and what is stored beside it (``GET /secrets/{ns}/{name}``)."""

    namespace: str
    name: str
    value: str = field(repr=False)
    version: int | None
    metadata: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    key_version: int
    secret_id: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Secret:
        return cls(
            namespace=body["namespace"],
            name=body["name"],
            value=body["value"],
            version=_maybe_int(body.get("version")),
            metadata=body.get("metadata"),
            created_at=parse_timestamp(body["created_at"]),
            updated_at=parse_timestamp(body["updated_at"]),
            expires_at=_maybe_timestamp(body.get("expires_at")),
            key_version=body["key_version"],
            secret_id=body["secret_id"],
        )


@dataclass(frozen=True)
class PutResult:
    """The answer to a put or a rollback. ``created`` is true when no active secret was there."""

    namespace: str
    name: str
    version: int | None
    created: bool
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    key_version: int
    secret_id: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> PutResult:
        return cls(
            namespace=body["namespace"],
            name=body["name"],
            version=_maybe_int(body.get("version")),
            created=bool(body.get("is_new", False)),
            created_at=parse_timestamp(body["created_at"]),
            updated_at=parse_timestamp(body["updated_at"]),
            expires_at=_maybe_timestamp(body.get("expires_at")),
            key_version=body["key_version"],
            secret_id=body["secret_id"],
        )


@dataclass(frozen=True)
class UpdateResult:
    """The answer to an update of metadata and/or expiry."""

    namespace: str
    name: str
    metadata: dict[str, Any] | None
    updated_at: datetime
    expires_at: datetime | None
    secret_id: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> UpdateResult:
        return cls(
            namespace=body["namespace"],
            name=body["name"],
            metadata=body.get("metadata"),
            updated_at=parse_timestamp(body["updated_at"]),
            expires_at=_maybe_timestamp(body.get("expires_at")),
            secret_id=body["secret_id"],
        )


@dataclass(frozen=True)
class DeleteResult:
    """``removed`` is false when there was nothing to delete."""

    removed: bool
    purged: bool
    restorable_until: datetime | None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> DeleteResult:
        return cls(
            removed=bool(body["removed"]),
            purged=bool(body.get("purged", False)),
            restorable_until=_maybe_timestamp(body.get("restorable_until")),
        )


@dataclass(frozen=True)
class SecretInfo:
    """One row of a listing: never a value. ``state`` is active, expired or deleted."""

    namespace: str
    name: str
    state: str
    version: int | None
    metadata: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    key_version: int
    secret_id: str
    deleted_at: datetime | None = None
    restorable_until: datetime | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> SecretInfo:
        return cls(
            namespace=body["namespace"],
            name=body["name"],
            state=body["state"],
            version=_maybe_int(body.get("version")),
            metadata=body.get("metadata"),
            created_at=parse_timestamp(body["created_at"]),
            updated_at=parse_timestamp(body["updated_at"]),
            expires_at=_maybe_timestamp(body.get("expires_at")),
            key_version=body["key_version"],
            secret_id=body["secret_id"],
            deleted_at=_maybe_timestamp(body.get("deleted_at")),
            restorable_until=_maybe_timestamp(body.get("restorable_until")),
        )


@dataclass(frozen=True)
class VersionInfo:
    """One version of a secret's value, as ``history`` lists it (never the value)."""

    version: int
    created_at: datetime
    actor: str | None
    current: bool

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> VersionInfo:
        return cls(
            version=body["version"],
            created_at=parse_timestamp(body["created_at"]),
            actor=body.get("actor"),
            current=bool(body["current"]),
        )


@dataclass(frozen=True)
class RestoreResult:
    """The answer to a restore: the secret as it was when deleted."""

    namespace: str
    name: str
    version: int | None
    updated_at: datetime
    expires_at: datetime | None
    secret_id: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> RestoreResult:
        return cls(
            namespace=body["namespace"],
            name=body["name"],
            version=_maybe_int(body.get("version")),
            updated_at=parse_timestamp(body["updated_at"]),
            expires_at=_maybe_timestamp(body.get("expires_at")),
            secret_id=body["secret_id"],
        )


@dataclass(frozen=True)
class NamespaceCount:
    namespace: str
    secrets: int
    expired: int

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> NamespaceCount:
        return cls(namespace=body["namespace"], secrets=body["secrets"], expired=body["expired"])


@dataclass(frozen=True)
class Event:
    """An audit event (never a value)."""

    event_id: str
    type: str
    namespace: str
    name: str
    secret_id: str
    created_at: datetime
    actor: str | None
    detail: dict[str, Any]
    seq: int | None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Event:
        return cls(
            event_id=body["event_id"],
            type=body["type"],
            namespace=body["namespace"],
            name=body["name"],
            secret_id=body["secret_id"],
            created_at=parse_timestamp(body["created_at"]),
            actor=body.get("actor"),
            detail=body.get("detail") or {},
            seq=_maybe_int(body.get("seq")),
        )


@dataclass(frozen=True)
class TokenInfo:
    """An API token as listed: never its secret text."""

    token_id: str
    name: str
    namespaces: list[str]
    capabilities: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None = None
    created_by: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> TokenInfo:
        return cls(
            token_id=body["token_id"],
            name=body["name"],
            namespaces=list(body["namespaces"]),
            capabilities=list(body["capabilities"]),
            created_at=parse_timestamp(body["created_at"]),
            expires_at=_maybe_timestamp(body.get("expires_at")),
            revoked_at=_maybe_timestamp(body.get("revoked_at")),
            created_by=body.get("created_by"),
        )


@dataclass(frozen=True)
class CreatedToken:
    """A new token: ``token`` is its secret text, shown only in this answer."""

    token: str = field(repr=False)
    info: TokenInfo

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CreatedToken:
        return cls(token=body["token"], info=TokenInfo.from_json(body))


@dataclass(frozen=True)
class AuditVerification:
    """The audit chain's check. ``problem`` names the first broken ``seq`` when not ``ok``."""

    ok: bool
    checked: int
    first_seq: int | None
    last_seq: int | None
    unsealed: int
    oldest_unsealed_ms: int | None
    problem: dict[str, Any] | None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> AuditVerification:
        return cls(
            ok=bool(body["ok"]),
            checked=body["checked"],
            first_seq=_maybe_int(body.get("first_seq")),
            last_seq=_maybe_int(body.get("last_seq")),
            unsealed=body.get("unsealed", 0),
            oldest_unsealed_ms=_maybe_int(body.get("oldest_unsealed_ms")),
            problem=body.get("problem"),
        )
