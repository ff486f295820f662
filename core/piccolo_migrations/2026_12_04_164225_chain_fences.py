"""The chain fences: one row per kind of worker chain (docs/adr/0011).

Piccolo's operations as ``--auto`` writes them, and one statement Piccolo cannot
say (see the initial migration): no default on the varchar primary key.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

from core.db import DB

ID = "2026-12-04T16:42:25:004045"
VERSION = "1.38.0"
DESCRIPTION = "chain fences"

AFTER_TABLES = ("ALTER TABLE chain_fences ALTER COLUMN kind DROP DEFAULT",)


class _Manager(MigrationManager):
    """Runs :data:`AFTER_TABLES` after Piccolo's operations, in one transaction."""

    async def run(self, backwards: bool = False) -> None:
        async with DB.transaction():
            await super().run(backwards=backwards)
            if backwards:
                return
            for statement in AFTER_TABLES:
                if self.preview:
                    print(f"\n {statement};")
                else:
                    await DB.run_ddl(statement)


async def forwards() -> MigrationManager:
    manager = _Manager(migration_id=ID, app_name="core", description=DESCRIPTION)

    manager.add_table(
        class_name="ChainFenceRow",
        tablename="chain_fences",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="ChainFenceRow",
        tablename="chain_fences",
        column_name="kind",
        db_column_name="kind",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 32,
            "default": None,
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
        table_class_name="ChainFenceRow",
        tablename="chain_fences",
        column_name="fence",
        db_column_name="fence",
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
        table_class_name="ChainFenceRow",
        tablename="chain_fences",
        column_name="last_batch_at",
        db_column_name="last_batch_at",
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

    return manager
