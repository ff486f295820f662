"""``/api/v1/rotation`` and ``/api/v1/cleanup/*``: start the worker's chains, never run them.

A chain can take minutes; the request only asks the worker (through Redis) to
start one, or learns that one is already running, and answers 202 at once.
``worker.chains`` talks to Redis synchronously, so its calls run in a thread.
When Redis cannot be reached they raise ``unavailable`` (503); secrets are
still read and written meanwhile, since those routes never touch Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.openapi.spec import Operation, RequestBody
from litestar.params import JSONBody
from msgspec import UnsetType

from core.access import authorize_everywhere
from core.validation import check_duration_ms
from web.api.deps import Caller
from web.api.schemas import (
    CleanupCreate,
    CleanupStartRead,
    RotationRead,
    RotationStartRead,
)
from web.errors import error_responses
from worker.chains import ChainKind, is_running, start_chain


@dataclass
class OptionalBodyOperation(Operation):
    """An operation whose request body may be left out (Litestar marks every body required)."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


async def _start(kind: ChainKind, actor: str, retention_ms: int | None = None) -> bool:
    started: bool = await sync_to_thread(start_chain, kind, actor=actor, retention_ms=retention_ms)
    return started


class RotationController(Controller):
    path = "/rotation"
    tags = ["keys"]

    @get(
        summary="Key versions and how far rotation has come",
        description=(
            "`stale`: rows below the active version whose key is still configured;"
            " `orphans`: rows whose key version is no longer configured; `running`: whether"
            " a rotation chain is running. Capability `admin` with the pattern `*`."
        ),
        responses=error_responses("invalid_keys"),
    )
    async def rotation_status(self, caller: NamedDependency[Caller]) -> RotationRead:
        authorize_everywhere(caller.principal, "admin")
        status = await caller.store.rotation_status()
        running: bool = await sync_to_thread(is_running, "rotation")
        return RotationRead(
            active_version=status.active_version,
            configured_versions=list(status.configured_versions),
            complete=status.complete,
            counts={str(version): count for version, count in status.counts.items()},
            stale=status.stale,
            orphans=status.orphans,
            running=running,
        )

    @post(
        status_code=202,
        summary="Start (or join) the rotation chain",
        description=(
            "`started` is false when a chain was already running; calling again is safe."
            " Capability `admin` with the pattern `*`."
        ),
        responses=error_responses("invalid_keys"),
    )
    async def start_rotation(self, caller: NamedDependency[Caller]) -> RotationStartRead:
        authorize_everywhere(caller.principal, "admin")
        # Read first: with a bad key configuration nothing is enqueued (503 invalid_keys).
        status = await caller.store.rotation_status()
        started = await _start("rotation", caller.actor)
        return RotationStartRead(started=started, stale=status.stale, orphans=status.orphans)


class CleanupController(Controller):
    path = "/cleanup"
    tags = ["maintenance"]

    @post(
        "/secrets",
        status_code=202,
        summary="Start the cleanup chain for long-expired secrets",
        description=(
            "Deletes secrets whose expiry passed more than `retention_ms` ago (default 30 days)."
            " The body may be left out. Capability `admin` with the pattern `*`."
        ),
        responses=error_responses("value_too_large"),
        operation_class=OptionalBodyOperation,
    )
    async def cleanup_secrets(
        self,
        caller: NamedDependency[Caller],
        data: JSONBody[CleanupCreate | None] = None,
    ) -> CleanupStartRead:
        authorize_everywhere(caller.principal, "admin")
        started = await _start("cleanup_secrets", caller.actor, _retention(data))
        return CleanupStartRead(started=started)

    @post(
        "/events",
        status_code=202,
        summary="Start the cleanup chain for old audit events",
        description=(
            "Deletes events older than `retention_ms` (default 180 days). The body may be"
            " left out. Capability `admin` with the pattern `*`."
        ),
        responses=error_responses("value_too_large"),
        operation_class=OptionalBodyOperation,
    )
    async def cleanup_events(
        self,
        caller: NamedDependency[Caller],
        data: JSONBody[CleanupCreate | None] = None,
    ) -> CleanupStartRead:
        authorize_everywhere(caller.principal, "admin")
        started = await _start("cleanup_events", caller.actor, _retention(data))
        return CleanupStartRead(started=started)


def _retention(data: CleanupCreate | None) -> int | None:
    if data is None or isinstance(data.retention_ms, UnsetType):
        return None
    return check_duration_ms("retention_ms", int(data.retention_ms))
