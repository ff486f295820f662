"""What the store returns: plain frozen records, never a value unless it is a read."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from core.timeutil import is_expired

T = TypeVar("T")
NamespaceT = TypeVar("NamespaceT", bound=str)
MetadataT = TypeVar("MetadataT", bound=Mapping[str, Any])

EventType = Literal["created", "updated", "deleted", "restored", "purged", "rotated"]
EVENT_TYPES: tuple[EventType, ...] = (
    "created",
    "updated",
    "deleted",
    "restored",
    "purged",
    "rotated",
)
SecretState = Literal["active", "expired", "deleted"]


class Unset(enum.Enum):
    """The type of :data:`UNSET`: a field the caller left out (distinct from ``None``)."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET


@dataclass(frozen=True)
class SecretInfo(Generic[NamespaceT, MetadataT]):
    secret_id: str
    namespace: NamespaceT
    name: str
    metadata: MetadataT | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    # the key version of the DEK of the version this record describes
    key_version: int
    # the current version, or the one read (a read of an earlier version)
    version: int
    deleted_at: datetime | None = None

    def state(self, now: datetime) -> SecretState:
        if self.deleted_at is not None:
            return "deleted"
        return "expired" if is_expired(self.expires_at, now) else "active"


@dataclass(frozen=True)
class SecretValue(Generic[NamespaceT, MetadataT]):
    """A decrypted secret. Its ``repr`` leaves the value out."""

    info: SecretInfo[NamespaceT, MetadataT]
    value: str = field(repr=False)


@dataclass(frozen=True)
class PutResult(Generic[NamespaceT, MetadataT]):
    info: SecretInfo[NamespaceT, MetadataT]
    is_new: bool


@dataclass(frozen=True)
class Found(Generic[NamespaceT, MetadataT]):
    secret: SecretValue[NamespaceT, MetadataT]


@dataclass(frozen=True)
class Missing:
    """Why a read found no value: absent, expired, or its KEK is no longer configured."""

    reason: Literal["not_found", "expired", "key_unavailable"]


GetResult = Found[NamespaceT, MetadataT] | Missing


@dataclass(frozen=True)
class ListedSecret(Generic[NamespaceT, MetadataT]):
    info: SecretInfo[NamespaceT, MetadataT]
    state: SecretState
    # a deleted secret's end of its recovery window
    restorable_until: datetime | None = None


@dataclass(frozen=True)
class Removal:
    """What a delete did: nothing, a soft delete (restorable until ...), or a purge."""

    removed: bool
    purged: bool = False
    restorable_until: datetime | None = None


@dataclass(frozen=True)
class VersionInfo:
    """One kept version of a secret, without its value."""

    version: int
    created_at: datetime
    actor: str | None
    current: bool


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class NamespaceCount:
    namespace: str
    secrets: int
    expired: int


@dataclass(frozen=True)
class AuditEvent:
    event_id: str
    secret_id: str
    namespace: str
    name: str
    type: EventType
    created_at: datetime
    actor: str | None
    detail: dict[str, Any]
    # The event's place in the audit chain; None until the sealer reaches it.
    seq: int | None = None


@dataclass(frozen=True)
class RotationStatus:
    active_version: int
    configured_versions: tuple[int, ...]
    counts: dict[int, int]
    # rows below the active version whose KEK is still configured
    stale: int
    # rows whose key version is no longer configured
    orphans: int
    # stale rows whose configured KEK failed to unwrap them (replaced material)
    unrewrappable: int

    @property
    def rewrappable(self) -> int:
        """Rows a rotation can still rewrap: stale rows less the unrewrappable ones."""
        return self.stale - self.unrewrappable

    @property
    def complete(self) -> bool:
        return self.stale == 0 and self.orphans == 0


@dataclass(frozen=True)
class RotationBatch:
    rotated: int
    # rows claimed in this batch whose KEK did not unwrap them
    skipped: int
    is_done: bool


@dataclass(frozen=True)
class CleanupBatch:
    deleted: int
    is_done: bool
    # deleted secrets purged because their recovery window passed
    purged: int = 0
