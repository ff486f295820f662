"""A stored row of a secret as the store's records, and the opening of its value.

The one place a read turns a row into :class:`core.models.SecretInfo` and
decides, in order, ``not_found``, ``expired``, ``key_unavailable``, or the
value; a ciphertext that does not authenticate is ``decryption_failed``,
logged with its ids and never its content.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, cast

import asyncpg

from core.crypto import InvalidCiphertext, Location, SealedSecret, open_sealed
from core.errors import SecretStoreError
from core.keys import KeyRing
from core.models import Found, GetResult, Missing, SecretInfo, SecretValue
from core.timeutil import is_expired

log = logging.getLogger("secretstore.store")


def secret_info(row: asyncpg.Record) -> SecretInfo[str, dict[str, Any]]:
    """A row of ``secrets`` (with ``key_version``, and ``version`` when one was read)."""
    return SecretInfo(
        secret_id=str(row["id"]),
        namespace=row["namespace"],
        name=row["name"],
        metadata=_json_load(row["metadata"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        expires_at=row["expires_at"],
        key_version=row["key_version"],
        version=row["version"] if "version" in row else row["current_version"],
        deleted_at=row["deleted_at"],
    )


def open_row(
    row: asyncpg.Record | None, keyring: KeyRing, now: datetime
) -> GetResult[str, dict[str, Any]]:
    if row is None:
        return Missing("not_found")
    info = secret_info(row)
    if is_expired(info.expires_at, now):
        return Missing("expired")
    if info.key_version not in keyring:
        return Missing("key_unavailable")
    sealed = SealedSecret(
        ciphertext=row["ciphertext"],
        value_nonce=row["value_nonce"],
        wrapped_dek=row["wrapped_dek"],
        dek_nonce=row["dek_nonce"],
        key_version=info.key_version,
    )
    try:
        location = Location.stored(
            info.namespace, info.name, row["id"], row["version"], row["aad_layout"]
        )
        value = open_sealed(sealed, location=location, kek=keyring.kek_material(info.key_version))
    except InvalidCiphertext:
        log.error(
            "secret failed authentication",
            extra={
                "secret_id": info.secret_id,
                "version": info.version,
                "key_version": info.key_version,
            },
        )
        raise SecretStoreError(
            "decryption_failed", "the stored secret did not authenticate"
        ) from None
    return Found(SecretValue(info, value))


def _json_load(text: str | None) -> dict[str, Any] | None:
    return None if text is None else cast(dict[str, Any], json.loads(text))
