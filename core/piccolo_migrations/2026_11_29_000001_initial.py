"""The initial schema: secrets, audit events, API tokens and their indexes.

Written as SQL because the indexes are the point: each one serves one query
of the store (keyset listing, rotation claim, expiry cleanup, every audit filter).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db import DB

ID = "2026-11-29T00:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "secrets, audit events, API tokens"

FORWARDS = """
CREATE TABLE secrets (
    id uuid PRIMARY KEY,
    namespace varchar(128) NOT NULL,
    name varchar(256) NOT NULL,
    ciphertext bytea NOT NULL,
    value_nonce bytea NOT NULL,
    wrapped_dek bytea NOT NULL,
    dek_nonce bytea NOT NULL,
    key_version integer NOT NULL,
    unwrap_failed_kek bytea,
    metadata jsonb,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    expires_at timestamptz,
    CONSTRAINT secrets_namespace_name_unique UNIQUE (namespace, name)
);
-- the listing keyset, both orders
CREATE INDEX secrets_listing ON secrets (namespace, updated_at, id);
-- rotation: count per version, claim stale rows
CREATE INDEX secrets_key_version ON secrets (key_version);
-- cleanup: rows whose expiry passed
CREATE INDEX secrets_expires_at ON secrets (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE audit_events (
    id bigserial PRIMARY KEY,
    secret_id uuid NOT NULL,
    namespace varchar(128) NOT NULL,
    name varchar(256) NOT NULL,
    type varchar(16) NOT NULL,
    actor varchar(64),
    detail jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX audit_events_keyset ON audit_events (created_at, id);
CREATE INDEX audit_events_namespace ON audit_events (namespace, created_at, id);
CREATE INDEX audit_events_name ON audit_events (namespace, name, created_at, id);
CREATE INDEX audit_events_type ON audit_events (type, created_at, id);
CREATE INDEX audit_events_secret ON audit_events (secret_id, created_at, id);

CREATE TABLE api_tokens (
    id uuid PRIMARY KEY,
    name varchar(128) NOT NULL,
    token_hash varchar(64) NOT NULL UNIQUE,
    namespaces jsonb NOT NULL,
    capabilities jsonb NOT NULL,
    created_by varchar(64),
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz
);
"""

BACKWARDS = """
DROP TABLE api_tokens;
DROP TABLE audit_events;
DROP TABLE secrets;
"""


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run_forwards() -> None:
        for statement in _statements(FORWARDS):
            await DB.run_ddl(statement)

    async def run_backwards() -> None:
        for statement in _statements(BACKWARDS):
            await DB.run_ddl(statement)

    manager.add_raw(run_forwards)
    manager.add_raw_backwards(run_backwards)
    return manager
