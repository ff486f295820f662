"""A value write: seal for the secret's next version, and write it in one statement.

A version's ciphertext is bound to its secret's id and version number
(:class:`core.crypto.Location`), so the value must be sealed before the write
for a place the writer can only expect. The put statement
(:func:`core.queries.secret_rows.put`) checks that expectation under the row
lock and writes only if it holds; otherwise it writes nothing and tells where
the secret is now, and the value is sealed again for that.

Where to expect comes from :class:`Places`, the last id and version this
process saw of each secret, so a process that writes or reads a secret
writes it again in one round trip. A wrong expectation (another process
wrote) costs one more attempt, made inside a transaction that locks the row
first, where the expectation is certain: a write never spins.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from core.crypto import CURRENT_LAYOUT, Location, seal
from core.db import transaction
from core.errors import SecretStoreError
from core.keys import KeyRing
from core.queries import secret_rows

# Where a secret was last seen: (secret id, current version).
Place = tuple[uuid.UUID, int]
# Attempts inside the lock: only a concurrent creation of the same name can
# make one of them miss, and then the next finds the row to lock.
_LOCKED_ATTEMPTS = 3


class Places:
    """The last (secret id, current version) seen of recently used secrets, bounded."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._places: OrderedDict[tuple[str, str], Place] = OrderedDict()

    def get(self, key: tuple[str, str]) -> Place | None:
        return self._places.get(key)

    def remember(self, key: tuple[str, str], place: Place | None) -> None:
        if place is None:
            self._places.pop(key, None)
            return
        self._places[key] = place
        self._places.move_to_end(key)
        if len(self._places) > self._size:
            self._places.popitem(last=False)


@dataclass(frozen=True)
class Precondition:
    """A write's condition: the current version (If-Match), or no secret (If-None-Match: *)."""

    if_match: int | None = None
    if_none_match: bool = False


NO_PRECONDITION = Precondition()


def conflict(current_version: int | None) -> SecretStoreError:
    return SecretStoreError(
        "conflict",
        "the precondition does not hold: the secret's current version is "
        + ("none" if current_version is None else str(current_version)),
        current_version=current_version,
    )


def value_write(
    max_versions: int,
    namespace: str,
    name: str,
    now: datetime,
    actor: str | None,
    precondition: Precondition,
    *,
    metadata_json: str | None = None,
    keep_metadata: bool = False,
    expires_at: datetime | None = None,
    keep_expiry: bool = False,
    rolled_back_from: int | None = None,
) -> secret_rows.ValueWrite:
    """The parts of a value write its caller decides; ``write_value`` seals and places it."""
    return secret_rows.ValueWrite(
        secret_id=uuid.UUID(int=0),
        namespace=namespace,
        name=name,
        version=0,
        sealed=(b"", b"", b"", b"", 0),
        aad_layout=0,
        metadata_json=metadata_json,
        keep_metadata=keep_metadata,
        now=now,
        expires_at=expires_at,
        keep_expiry=keep_expiry,
        actor=actor,
        if_match=precondition.if_match,
        if_none_match=precondition.if_none_match,
        max_versions=max_versions,
        rolled_back_from=rolled_back_from,
    )


async def write_value(
    places: Places,
    keyring: KeyRing,
    value: str,
    write: secret_rows.ValueWrite,
) -> asyncpg.Record:
    """Write ``value`` as the next version; the written row (see ``secret_rows.put``).

    ``write`` carries everything but where to seal for (its ``secret_id``,
    ``version`` and ``sealed`` are filled here). Raises ``conflict`` when a
    precondition fails and ``not_found`` when a rollback finds no secret.
    """
    key = (write.namespace, write.name)
    row = await _attempt(keyring, value, write, places.get(key))
    if row["action"] == "reseal" or (row["action"] == "create" and row["id"] is None):
        async with transaction():
            for _ in range(_LOCKED_ATTEMPTS):
                locked = await secret_rows.lock(write.namespace, write.name)
                place = None if locked is None else (locked["id"], locked["current_version"])
                row = await _attempt(keyring, value, write, place)
                if row["action"] != "create" or row["id"] is not None:
                    break
    action = row["action"]
    if action == "conflict":
        found_active = row["found_id"] is not None and row["found_deleted_at"] is None
        raise conflict(row["found_version"] if found_active else None)
    if action == "missing":
        raise SecretStoreError("not_found", "no such secret")
    if row["id"] is None:
        raise SecretStoreError("conflict", "the secret changed during the write")
    places.remember(key, (row["id"], row["current_version"]))
    return row


async def _attempt(
    keyring: KeyRing, value: str, write: secret_rows.ValueWrite, place: Place | None
) -> asyncpg.Record:
    secret_id, version = (uuid.uuid4(), 1) if place is None else (place[0], place[1] + 1)
    sealed = seal(
        value,
        location=Location.of_version(write.namespace, write.name, secret_id, version),
        kek=keyring.kek_material(keyring.active_version),
        key_version=keyring.active_version,
    )
    return await secret_rows.put(
        replace(
            write,
            secret_id=secret_id,
            version=version,
            sealed=(
                sealed.ciphertext,
                sealed.value_nonce,
                sealed.wrapped_dek,
                sealed.dek_nonce,
                sealed.key_version,
            ),
            aad_layout=CURRENT_LAYOUT,
        )
    )
