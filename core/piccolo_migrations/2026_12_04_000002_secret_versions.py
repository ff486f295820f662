"""Secret versions: each value a row of ``secret_versions``; ``secrets`` keeps the identity.

Piccolo's operations (as ``piccolo migrations new core --auto`` writes them)
create ``secret_versions``, move the sealed columns off ``secrets`` and add
``current_version`` and ``deleted_at``. What Piccolo cannot say is SQL, run by
:class:`_Manager` between Piccolo's steps, in the migration's one transaction:

- after the new table and columns exist and before the sealed columns are
  dropped, each existing secret's sealed value becomes its version 1
  (``aad_layout`` 1: it was sealed for (namespace, name), see ADR 0010) and its
  ``current_version`` 1; ``current_version`` is added nullable for this and made
  ``NOT NULL`` by the alter step that follows;
- no default on the new varchar column, and the partial indexes (``INDEXES``).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    UUID,
    BigSerial,
    Bytea,
    ForeignKey,
    Integer,
    Timestamptz,
    Varchar,
)
from piccolo.columns.indexes import IndexMethod
from piccolo.constraints import Unique
from piccolo.table import Table

from core.db import DB


class SecretRow(Table, tablename="secrets", schema=None):
    id = UUID(
        default=None,
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name=None,
        secret=False,
    )


ID = "2026-12-04T00:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "secret versions, soft delete"

INDEXES = {
    # the cleanup's purge of deleted secrets whose recovery window passed
    "secrets_deleted_at": (
        "CREATE INDEX secrets_deleted_at ON secrets (deleted_at) WHERE deleted_at IS NOT NULL"
    ),
}

# Every stored value becomes version 1 of its secret, sealed with AAD layout 1.
_VERSION_ONE = (
    "INSERT INTO secret_versions (secret_id, version, ciphertext, value_nonce, wrapped_dek,"
    " dek_nonce, key_version, unwrap_failed_kek, aad_layout, created_at, actor)"
    " SELECT id, 1, ciphertext, value_nonce, wrapped_dek, dek_nonce, key_version,"
    " unwrap_failed_kek, 1, updated_at, NULL FROM secrets",
    "UPDATE secrets SET current_version = 1",
)


def _after_tables() -> list[str]:
    return ["ALTER TABLE secret_versions ALTER COLUMN actor DROP DEFAULT", *INDEXES.values()]


class _Manager(MigrationManager):
    """Piccolo's steps, with the data copy before the drop and the SQL after the rest."""

    async def _run_drop_columns(self, backwards: bool = False) -> None:
        if not backwards:
            for statement in _VERSION_ONE:
                await self._sql(statement)
        await super()._run_drop_columns(backwards=backwards)

    async def run(self, backwards: bool = False) -> None:
        async with DB.transaction():
            await super().run(backwards=backwards)
            if backwards:
                return
            for statement in _after_tables():
                await self._sql(statement)

    async def _sql(self, statement: str) -> None:
        if self.preview:
            print(f"\n {statement};")
        else:
            await DB.run_ddl(statement)


async def forwards() -> MigrationManager:
    manager = _Manager(migration_id=ID, app_name="core", description=DESCRIPTION)

    manager.add_table(
        class_name="SecretVersionRow",
        tablename="secret_versions",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="id",
        db_column_name="id",
        column_class_name="BigSerial",
        column_class=BigSerial,
        params={
            "null": False,
            "primary_key": True,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="secret_id",
        db_column_name="secret_id",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": SecretRow,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="version",
        db_column_name="version",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="ciphertext",
        db_column_name="ciphertext",
        column_class_name="Bytea",
        column_class=Bytea,
        params={
            "default": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="value_nonce",
        db_column_name="value_nonce",
        column_class_name="Bytea",
        column_class=Bytea,
        params={
            "default": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="wrapped_dek",
        db_column_name="wrapped_dek",
        column_class_name="Bytea",
        column_class=Bytea,
        params={
            "default": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="dek_nonce",
        db_column_name="dek_nonce",
        column_class_name="Bytea",
        column_class=Bytea,
        params={
            "default": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="key_version",
        db_column_name="key_version",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="unwrap_failed_kek",
        db_column_name="unwrap_failed_kek",
        column_class_name="Bytea",
        column_class=Bytea,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="aad_layout",
        db_column_name="aad_layout",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="created_at",
        db_column_name="created_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        column_name="actor",
        db_column_name="actor",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_constraint(
        table_class_name="SecretVersionRow",
        tablename="secret_versions",
        constraint_name="secret_versions_secret_version_unique",
        constraint_class=Unique,
        params={"columns": ["secret_id", "version"], "nulls_distinct": True},
        schema=None,
    )

    manager.drop_column(
        table_class_name="SecretRow",
        tablename="secrets",
        column_name="ciphertext",
        db_column_name="ciphertext",
        schema=None,
    )

    manager.drop_column(
        table_class_name="SecretRow",
        tablename="secrets",
        column_name="dek_nonce",
        db_column_name="dek_nonce",
        schema=None,
    )

    manager.drop_column(
        table_class_name="SecretRow",
        tablename="secrets",
        column_name="key_version",
        db_column_name="key_version",
        schema=None,
    )

    manager.drop_column(
        table_class_name="SecretRow",
        tablename="secrets",
        column_name="unwrap_failed_kek",
        db_column_name="unwrap_failed_kek",
        schema=None,
    )

    manager.drop_column(
        table_class_name="SecretRow",
        tablename="secrets",
        column_name="value_nonce",
        db_column_name="value_nonce",
        schema=None,
    )

    manager.drop_column(
        table_class_name="SecretRow",
        tablename="secrets",
        column_name="wrapped_dek",
        db_column_name="wrapped_dek",
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretRow",
        tablename="secrets",
        column_name="current_version",
        db_column_name="current_version",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="SecretRow",
        tablename="secrets",
        column_name="deleted_at",
        db_column_name="deleted_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.alter_column(
        table_class_name="SecretRow",
        tablename="secrets",
        column_name="current_version",
        db_column_name="current_version",
        params={"null": False},
        old_params={"null": True},
        column_class=Integer,
        old_column_class=Integer,
        schema=None,
    )

    return manager
