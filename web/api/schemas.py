"""The API's request and response bodies (msgspec structs: XCreate / XUpdate / XRead).

Request structs refuse unknown fields, so a misspelt field (``"ttl": 5``) is
an error instead of a silently ignored wish. Optional fields default to
``msgspec.UNSET``: an absent field is distinct from ``null`` (API.md), and
:func:`web.api.fields.core_unset` hands the store its own ``UNSET``. Each
response struct is built from core's record by its ``of`` class method.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from core.access import Capability
from core.audit_verify import ChainReport
from core.models import (
    AuditEvent,
    EventType,
    ListedSecret,
    NamespaceCount,
    PutResult,
    Removal,
    SecretInfo,
    SecretState,
    SecretValue,
    VersionInfo,
)
from core.timeutil import format_timestamp
from core.tokens import CreatedToken, TokenInfo
from core.validation import MAX_VALUE_BYTES, has_control_character
from web.api.fields import (
    DurationMs,
    Metadata,
    NamespacePatterns,
    Timestamp,
    TokenName,
    WholeNumber,
    check_metadata_shape,
    timestamp,
)

# -- secrets -----------------------------------------------------------------------


class SecretCreate(Struct, forbid_unknown_fields=True):
    """Body of ``PUT /secrets/{namespace}/{name}``."""

    value: Annotated[
        str,
        Meta(description=f"any string of at most {MAX_VALUE_BYTES} UTF-8 bytes (empty allowed)"),
    ]
    metadata: Metadata | UnsetType | None = UNSET
    ttl_ms: DurationMs | UnsetType | None = UNSET

    def __post_init__(self) -> None:
        check_metadata_shape(self.metadata)


class SecretUpdate(Struct, forbid_unknown_fields=True):
    """Body of ``PATCH /secrets/{namespace}/{name}``: at least one field."""

    openapi_extra: ClassVar[dict[str, Any]] = {"min_properties": 1}

    metadata: Metadata | UnsetType | None = UNSET
    ttl_ms: DurationMs | UnsetType | None = UNSET

    def __post_init__(self) -> None:
        check_metadata_shape(self.metadata)


def _stored_fields(info: SecretInfo[str, dict[str, Any]]) -> dict[str, Any]:
    """The fields every answer about one stored secret shares."""
    return {
        "secret_id": info.secret_id,
        "namespace": info.namespace,
        "name": info.name,
        "created_at": format_timestamp(info.created_at),
        "updated_at": format_timestamp(info.updated_at),
        "expires_at": timestamp(info.expires_at),
        "key_version": info.key_version,
        "version": info.version,
    }


class SecretPutRead(Struct):
    secret_id: str
    namespace: str
    name: str
    created_at: Timestamp
    updated_at: Timestamp
    expires_at: Timestamp | None
    key_version: int
    version: int
    is_new: bool

    @classmethod
    def of(cls, result: PutResult[str, dict[str, Any]]) -> SecretPutRead:
        info = result.info
        return cls(**_stored_fields(info), is_new=result.is_new)


class SecretRead(Struct):
    secret_id: str
    namespace: str
    name: str
    value: str
    metadata: Metadata | None
    created_at: Timestamp
    updated_at: Timestamp
    expires_at: Timestamp | None
    key_version: int
    version: int

    @classmethod
    def of(cls, secret: SecretValue[str, dict[str, Any]]) -> SecretRead:
        info = secret.info
        return cls(**_stored_fields(info), value=secret.value, metadata=info.metadata)


class SecretUpdateRead(Struct):
    secret_id: str
    namespace: str
    name: str
    updated_at: Timestamp
    expires_at: Timestamp | None
    metadata: Metadata | None

    @classmethod
    def of(cls, info: SecretInfo[str, dict[str, Any]]) -> SecretUpdateRead:
        return cls(
            secret_id=info.secret_id,
            namespace=info.namespace,
            name=info.name,
            updated_at=format_timestamp(info.updated_at),
            expires_at=timestamp(info.expires_at),
            metadata=info.metadata,
        )


class SecretRemoveRead(Struct, omit_defaults=True):
    """``purged`` and ``restorable_until`` only when something was removed."""

    removed: bool
    purged: bool | UnsetType = UNSET
    restorable_until: Timestamp | UnsetType | None = UNSET

    @classmethod
    def of(cls, removal: Removal) -> SecretRemoveRead:
        if not removal.removed:
            return cls(removed=False)
        return cls(
            removed=True,
            purged=removal.purged,
            restorable_until=timestamp(removal.restorable_until),
        )


class RollbackCreate(Struct, forbid_unknown_fields=True):
    """Body of ``POST /secrets/{namespace}/{name}/rollback``."""

    version: Annotated[
        WholeNumber,
        Meta(
            description="the version to copy",
            extra_json_schema={"extra": {"minimum": 1, "maximum": 999_999_999}},
        ),
    ]


class SecretRestoreRead(Struct):
    secret_id: str
    namespace: str
    name: str
    version: int
    updated_at: Timestamp
    expires_at: Timestamp | None

    @classmethod
    def of(cls, info: SecretInfo[str, dict[str, Any]]) -> SecretRestoreRead:
        return cls(
            secret_id=info.secret_id,
            namespace=info.namespace,
            name=info.name,
            version=info.version,
            updated_at=format_timestamp(info.updated_at),
            expires_at=timestamp(info.expires_at),
        )


class VersionRead(Struct):
    version: int
    created_at: Timestamp
    actor: str | None
    current: bool

    @classmethod
    def of(cls, item: VersionInfo) -> VersionRead:
        return cls(
            version=item.version,
            created_at=format_timestamp(item.created_at),
            actor=item.actor,
            current=item.current,
        )


class VersionPageRead(Struct):
    items: list[VersionRead]
    next_cursor: str | None


class SecretInfoRead(Struct, omit_defaults=True):
    secret_id: str
    namespace: str
    name: str
    metadata: Metadata | None
    created_at: Timestamp
    updated_at: Timestamp
    expires_at: Timestamp | None
    key_version: int
    version: int
    state: SecretState
    # a deleted secret's only
    deleted_at: Timestamp | UnsetType = UNSET
    restorable_until: Timestamp | UnsetType = UNSET

    @classmethod
    def of(cls, listed: ListedSecret[str, dict[str, Any]]) -> SecretInfoRead:
        info = listed.info
        read = cls(**_stored_fields(info), metadata=info.metadata, state=listed.state)
        if info.deleted_at is not None and listed.restorable_until is not None:
            read.deleted_at = format_timestamp(info.deleted_at)
            read.restorable_until = format_timestamp(listed.restorable_until)
        return read


class SecretPageRead(Struct):
    items: list[SecretInfoRead]
    next_cursor: str | None


class NamespaceRead(Struct):
    namespace: str
    secrets: int
    expired: int

    @classmethod
    def of(cls, count: NamespaceCount) -> NamespaceRead:
        return cls(namespace=count.namespace, secrets=count.secrets, expired=count.expired)


class NamespaceListRead(Struct):
    items: list[NamespaceRead]


# -- events ------------------------------------------------------------------------


class EventRead(Struct):
    event_id: str
    secret_id: str
    namespace: str
    name: str
    type: EventType
    created_at: Timestamp
    actor: str | None
    detail: dict[str, Any]
    seq: Annotated[
        int | None, Meta(description="the event's place in the audit chain; null until sealed")
    ]

    @classmethod
    def of(cls, event: AuditEvent) -> EventRead:
        return cls(
            event_id=event.event_id,
            secret_id=event.secret_id,
            namespace=event.namespace,
            name=event.name,
            type=event.type,
            created_at=format_timestamp(event.created_at),
            actor=event.actor,
            detail=event.detail,
            seq=event.seq,
        )


class EventPageRead(Struct):
    items: list[EventRead]
    next_cursor: str | None


# -- rotation and cleanup ----------------------------------------------------------


class RotationRead(Struct):
    active_version: int
    configured_versions: list[int]
    complete: bool
    counts: Annotated[
        dict[str, int], Meta(description="rows per key version (the keys are versions)")
    ]
    stale: int
    orphans: int
    running: bool


class RotationStartRead(Struct):
    started: bool
    stale: int
    orphans: int


class CleanupCreate(Struct, forbid_unknown_fields=True):
    """Body of ``POST /cleanup/secrets`` and ``/cleanup/events`` (the body may be left out)."""

    retention_ms: DurationMs | UnsetType = UNSET


class CleanupStartRead(Struct):
    started: bool


# -- tokens ------------------------------------------------------------------------


class TokenCreate(Struct, forbid_unknown_fields=True):
    """Body of ``POST /tokens``."""

    name: TokenName
    namespaces: NamespacePatterns
    capabilities: Annotated[list[Capability], Meta(min_length=1)]
    ttl_ms: DurationMs | UnsetType | None = UNSET

    def __post_init__(self) -> None:
        # Core checks the length and blankness; PostgreSQL text cannot hold U+0000.
        if has_control_character(self.name):
            raise ValueError("token name must not contain control characters")


class TokenCreatedRead(Struct):
    token_id: str
    token: Annotated[str, Meta(description="the token's secret text, shown here only")]
    name: str
    namespaces: list[str]
    capabilities: list[Capability]
    created_at: Timestamp
    expires_at: Timestamp | None

    @classmethod
    def of(cls, created: CreatedToken) -> TokenCreatedRead:
        info = created.info
        return cls(
            token_id=info.token_id,
            token=created.token,
            name=info.name,
            namespaces=list(info.namespaces),
            capabilities=list(info.capabilities),
            created_at=format_timestamp(info.created_at),
            expires_at=timestamp(info.expires_at),
        )


class TokenRead(Struct):
    token_id: str
    name: str
    namespaces: list[str]
    capabilities: list[Capability]
    created_by: str | None
    created_at: Timestamp
    expires_at: Timestamp | None
    revoked_at: Timestamp | None

    @classmethod
    def of(cls, info: TokenInfo) -> TokenRead:
        return cls(
            token_id=info.token_id,
            name=info.name,
            namespaces=list(info.namespaces),
            capabilities=list(info.capabilities),
            created_by=info.created_by,
            created_at=format_timestamp(info.created_at),
            expires_at=timestamp(info.expires_at),
            revoked_at=timestamp(info.revoked_at),
        )


class TokenListRead(Struct):
    items: list[TokenRead]


class TokenRevokedRead(Struct):
    revoked: bool
    token_id: str
    name: str
    namespaces: list[str]
    capabilities: list[Capability]
    created_by: str | None
    created_at: Timestamp
    expires_at: Timestamp | None
    revoked_at: Timestamp | None

    @classmethod
    def of(cls, info: TokenInfo) -> TokenRevokedRead:
        return cls(
            revoked=info.revoked_at is not None, **msgspec.structs.asdict(TokenRead.of(info))
        )


# -- operations --------------------------------------------------------------------


class HealthRead(Struct):
    status: Literal["ok"]


class ReadyChecks(Struct):
    database: Annotated[str, Meta(description="'ok', or why the database did not answer")]
    keys: Annotated[str, Meta(description="'ok', or 'invalid: <why>' (never key material)")]


class ReadyRead(Struct):
    status: Literal["ok"]
    checks: ReadyChecks


class NotReadyRead(Struct):
    """A 503 from ``/ready``: an error body with the checks beside it."""

    code: str
    message: str
    status: Literal["unavailable"]
    checks: ReadyChecks


# -- the audit chain ----------------------------------------------------------------


class AuditProblemRead(Struct):
    seq: int
    kind: Annotated[
        str,
        Meta(
            description="changed, missing, inserted, head, checkpoint or key_unavailable"
            " (docs/adr/0012)"
        ),
    ]
    message: str


class AuditVerifyRead(Struct):
    ok: bool
    checked: int
    first_seq: int | None
    last_seq: int | None
    unsealed: int
    oldest_unsealed_ms: int | None
    problem: AuditProblemRead | None

    @classmethod
    def of(cls, report: ChainReport) -> AuditVerifyRead:
        problem = report.problem
        return cls(
            ok=report.ok,
            checked=report.checked,
            first_seq=report.first_seq,
            last_seq=report.last_seq,
            unsealed=report.unsealed,
            oldest_unsealed_ms=report.oldest_unsealed_ms,
            problem=None
            if problem is None
            else AuditProblemRead(seq=problem.seq, kind=problem.kind, message=problem.message),
        )
