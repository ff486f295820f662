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

from piccolo.columns import JSONB, UUID, BigInt, Bytea, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.column_types import BigSerial
from piccolo.constraints import Unique
from piccolo.table import Table

from core.db import DB


class SecretRow(Table, tablename="secrets", db=DB):
    """A secret's identity, metadata and expiry; its values are its versions."""

    id = UUID(primary_key=True, default=None)
    namespace = Varchar(length=128, default=None)
    name = Varchar(length=256, default=None)
    metadata = JSONB(null=True, default=None)
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    expires_at = Timestamptz(null=True, default=None)
    # The newest version: every value write makes current_version + 1, so it is
    # also the highest number this secret ever used (versions never restart).
    current_version = Integer(default=None)
    # Set by a soft delete: the secret and its versions are kept, unreadable,
    # until restored or purged.
    deleted_at = Timestamptz(null=True, default=None)

    # A secret's address; the put's ON CONFLICT names these columns.
    secrets_namespace_name_unique = Unique([namespace, name])


class SecretVersionRow(Table, tablename="secret_versions", db=DB):
    """One stored value of a secret: its own DEK, wrapped under the KEK of key_version."""

    id = BigSerial(primary_key=True)
    # A purge deletes the secret row; its versions go with it.
    secret_id = ForeignKey(
        references=SecretRow, on_delete=OnDelete.cascade, null=False, default=None
    )
    version = Integer(default=None)
    # AES-256-GCM of the value under the version's DEK (AAD: core.crypto.Location)
    ciphertext = Bytea(default=None)
    value_nonce = Bytea(default=None)
    # AES-256-GCM of the DEK under the KEK of key_version
    wrapped_dek = Bytea(default=None)
    dek_nonce = Bytea(default=None)
    # Indexed for rotation: the count per version and the claim of stale rows.
    key_version = Integer(default=None, index=True)
    # The id of a KEK that failed to unwrap this row: rotation skips the row
    # until that version's material changes, instead of retrying it forever.
    unwrap_failed_kek = Bytea(null=True, default=None)
    # The AAD layout the ciphertexts were sealed with (core.crypto.AAD_LAYOUTS):
    # 1 for values written before versions existed, 2 for every later write.
    aad_layout = Integer(default=None)
    created_at = Timestamptz(default=None)
    actor = Varchar(length=64, null=True, default=None)

    secret_versions_secret_version_unique = Unique([secret_id, version])


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


class AuditSealRow(Table, tablename="audit_seals", db=DB):
    """An event's place in the audit chain (core.audit_chain).

    A table of its own rather than columns on ``audit_events``: sealing is then
    an insert, and never rewrites an event row with its five indexes. No
    foreign key either way: a deleted event must leave its seal behind so the
    chain can say which one is missing.
    """

    event_id = BigInt(primary_key=True, default=None)
    seq = BigInt(unique=True, default=None)
    # HMAC-SHA256 over the event's fields and the previous link
    link = Bytea(default=None)
    # The KEK version the link's key was derived from
    key_version = Integer(default=None)


class AuditChainRow(Table, tablename="audit_chain", db=DB):
    """The chain's one head row (``id`` 1), locked by every batch that changes the chain.

    ``last_*`` is the newest link; ``checkpoint_*`` the last link the events
    cleanup removed (seq 0 and an empty link before any). Each carries a MAC
    of its own (``head_mac``, ``checkpoint_mac``) that no event row holds, so
    the head cannot be moved back to an older link nor a checkpoint forged
    without the key.
    """

    id = Integer(primary_key=True, default=None)
    last_seq = BigInt(default=None)
    # Every event with an id up to this one is sealed: the sealed frontier.
    last_event_id = BigInt(default=None)
    last_link = Bytea(default=None)
    head_key_version = Integer(null=True, default=None)
    head_mac = Bytea(null=True, default=None)
    checkpoint_seq = BigInt(default=None)
    checkpoint_link = Bytea(default=None)
    checkpoint_key_version = Integer(null=True, default=None)
    checkpoint_mac = Bytea(null=True, default=None)
    sealed_at = Timestamptz(null=True, default=None)


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
