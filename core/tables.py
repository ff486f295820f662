"""The Piccolo tables. The schema itself, with its keyset indexes, is written in
the migration ``core/piccolo_migrations/2026_11_29_000001_initial.py``.
"""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Bytea, Integer, Timestamptz, Varchar
from piccolo.columns.column_types import BigSerial
from piccolo.table import Table

from core.db import DB


class SecretRow(Table, tablename="secrets", db=DB):
    id = UUID(primary_key=True)
    namespace = Varchar(length=128)
    name = Varchar(length=256)
    # AES-256-GCM of the value under the row's DEK; AAD = (namespace, name)
    ciphertext = Bytea()
    value_nonce = Bytea()
    # AES-256-GCM of the DEK under the KEK of key_version; AAD = (namespace, name, key_version)
    wrapped_dek = Bytea()
    dek_nonce = Bytea()
    key_version = Integer()
    # The id of a KEK that failed to unwrap this row: rotation skips the row
    # until that version's material changes, instead of retrying it forever.
    unwrap_failed_kek = Bytea(null=True, default=None)
    metadata = JSONB(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    expires_at = Timestamptz(null=True, default=None)


class AuditEventRow(Table, tablename="audit_events", db=DB):
    id = BigSerial(primary_key=True)
    secret_id = UUID()
    namespace = Varchar(length=128)
    name = Varchar(length=256)
    type = Varchar(length=16)
    actor = Varchar(length=64, null=True, default=None)
    detail = JSONB()
    created_at = Timestamptz()


class ApiTokenRow(Table, tablename="api_tokens", db=DB):
    id = UUID(primary_key=True)
    name = Varchar(length=128)
    # SHA-256 of the token text; the text itself is shown once and never stored.
    token_hash = Varchar(length=64, unique=True)
    namespaces = JSONB()
    capabilities = JSONB()
    created_by = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz()
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
