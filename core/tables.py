"""The schema: one Piccolo table class per table, the one declaration of it.

Columns, nullability, the unique constraints and the single-column index are
declared here, and ``piccolo migrations new core --auto`` diffs these classes
against the migrations. No column has a database default (``default=None``
everywhere): every statement writes every column it needs, so a forgotten
value fails instead of storing a made-up one.

Piccolo cannot declare a composite or a partial index on a table class; those
are raw SQL in the migration that creates them (``INDEXES`` there), each
beside the query it serves. ``tests/core/test_schema.py`` checks that these
classes, the migrations and a migrated database agree.
"""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Bytea, Integer, Timestamptz, Varchar
from piccolo.columns.column_types import BigSerial
from piccolo.constraints import Unique
from piccolo.table import Table

from core.db import DB


class SecretRow(Table, tablename="secrets", db=DB):
    id = UUID(primary_key=True, default=None)
    namespace = Varchar(length=128, default=None)
    name = Varchar(length=256, default=None)
    # AES-256-GCM of the value under the row's DEK; AAD = (namespace, name)
    ciphertext = Bytea(default=None)
    value_nonce = Bytea(default=None)
    # AES-256-GCM of the DEK under the KEK of key_version; AAD = (namespace, name, key_version)
    wrapped_dek = Bytea(default=None)
    dek_nonce = Bytea(default=None)
    # Indexed for rotation: the count per version and the claim of stale rows.
    key_version = Integer(default=None, index=True)
    # The id of a KEK that failed to unwrap this row: rotation skips the row
    # until that version's material changes, instead of retrying it forever.
    unwrap_failed_kek = Bytea(null=True, default=None)
    metadata = JSONB(null=True, default=None)
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    expires_at = Timestamptz(null=True, default=None)

    # A secret's address; the put's ON CONFLICT names these columns.
    secrets_namespace_name_unique = Unique([namespace, name])


class AuditEventRow(Table, tablename="audit_events", db=DB):
    id = BigSerial(primary_key=True)
    # No foreign key: an event outlives the secret it records.
    secret_id = UUID(default=None)
    namespace = Varchar(length=128, default=None)
    name = Varchar(length=256, default=None)
    type = Varchar(length=16, default=None)
    actor = Varchar(length=64, null=True, default=None)
    detail = JSONB(default=None)
    created_at = Timestamptz(default=None)


class ApiTokenRow(Table, tablename="api_tokens", db=DB):
    id = UUID(primary_key=True, default=None)
    name = Varchar(length=128, default=None)
    # SHA-256 of the token text; the text itself is shown once and never stored.
    token_hash = Varchar(length=64, unique=True, default=None)
    namespaces = JSONB(default=None)
    capabilities = JSONB(default=None)
    created_by = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz(default=None)
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class ChainFenceRow(Table, tablename="chain_fences", db=DB):
    """One row per kind of worker chain: the fence its links must pass to write.

    A link takes a fence number when it starts (the number goes up by one), and
    every batch it runs first updates this row where the number is still its
    own, inside the batch's transaction. A link superseded while it was slow or
    paused finds a higher number there, so its transaction writes nothing
    (docs/adr/0011).
    """

    kind = Varchar(length=32, primary_key=True, default=None)
    fence = Integer(default=None)
    # When a batch of this kind last committed.
    last_batch_at = Timestamptz(null=True, default=None)
