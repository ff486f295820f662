"""The schema is declared once: the table classes, the migrations and a migrated database agree."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from piccolo.columns import (
    JSONB,
    UUID,
    BigInt,
    Bytea,
    Column,
    ForeignKey,
    Integer,
    Timestamptz,
    Varchar,
)
from piccolo.columns.column_types import BigSerial
from piccolo.table import Table

from core.db import fetch
from core.piccolo_app import APP_CONFIG

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "core" / "piccolo_migrations"


def _migration_indexes() -> dict[str, str]:
    """The indexes the migrations create as SQL (Piccolo cannot declare them), by name."""
    indexes: dict[str, str] = {}
    for path in sorted(MIGRATIONS.glob("[0-9]*.py")):
        module = importlib.import_module(f"core.piccolo_migrations.{path.stem}")
        indexes.update(getattr(module, "INDEXES", {}))
    return indexes


def _sql_type(column: Column) -> str:
    if isinstance(column, Varchar):
        return f"character varying({column.length})"
    if isinstance(column, BigSerial):
        return "bigint"
    if isinstance(column, ForeignKey):
        return _sql_type(column._foreign_key_meta.resolved_references._meta.primary_key)
    types: dict[type[Column], str] = {
        UUID: "uuid",
        BigInt: "bigint",
        Bytea: "bytea",
        Integer: "integer",
        JSONB: "jsonb",
        Timestamptz: "timestamp with time zone",
    }
    return types[type(column)]


def _declared_columns(table: type[Table]) -> list[tuple[str, str, bool, bool]]:
    """(name, type, nullable, has a default) in declaration order."""
    return [
        (
            column._meta.db_column_name,
            _sql_type(column),
            column._meta.null,
            isinstance(column, BigSerial),
        )
        for column in table._meta.columns
    ]


def _declared_uniques(table: type[Table]) -> set[tuple[str | None, tuple[str, ...]]]:
    """Unique constraints as (name, columns); a column's own has the name PostgreSQL gives it."""
    uniques: set[tuple[str | None, tuple[str, ...]]] = {
        (None, (column._meta.db_column_name,))
        for column in table._meta.columns
        if column._meta.unique
    }
    for constraint in table._meta.constraints:
        uniques.add((constraint._meta.name, tuple(constraint._meta.params["columns"])))
    return uniques


def _declared_indexes(table: type[Table]) -> dict[str, str]:
    """Index name -> definition, as pg_get_indexdef writes it."""
    tablename = table._meta.tablename
    indexes = {
        table._get_index_name([column._meta.db_column_name]): (
            f"CREATE INDEX {table._get_index_name([column._meta.db_column_name])}"
            f" ON public.{tablename} USING btree ({column._meta.db_column_name})"
        )
        for column in table._meta.columns
        if column._meta.index
    }
    pattern = re.compile(r"CREATE INDEX (\w+) ON (\w+) \(([^)]*)\)(?: WHERE (.*))?$")
    for name, statement in _migration_indexes().items():
        match = pattern.match(statement)
        assert match is not None, statement
        index_name, index_table, columns, where = match.groups()
        assert index_name == name
        if index_table != tablename:
            continue
        definition = f"CREATE INDEX {name} ON public.{tablename} USING btree ({columns})"
        indexes[name] = definition + (f" WHERE ({where})" if where else "")
    return indexes


async def _database_columns(tablename: str) -> list[tuple[str, str, bool, bool]]:
    rows = await fetch(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type,"
        " NOT a.attnotnull AS nullable, a.atthasdef AS has_default"
        " FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0"
        " AND NOT a.attisdropped ORDER BY a.attnum",
        tablename,
    )
    return [(r["attname"], r["type"], r["nullable"], r["has_default"]) for r in rows]


async def _database_uniques(table: type[Table]) -> set[tuple[str | None, tuple[str, ...]]]:
    rows = await fetch(
        "SELECT c.conname, array_agg(a.attname ORDER BY k.ord) AS columns"
        " FROM pg_constraint c, unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord), pg_attribute a"
        " WHERE c.conrelid = $1::regclass AND c.contype = 'u'"
        " AND a.attrelid = c.conrelid AND a.attnum = k.attnum GROUP BY c.conname",
        table._meta.tablename,
    )
    named = {c._meta.name for c in table._meta.constraints}
    return {(r["conname"] if r["conname"] in named else None, tuple(r["columns"])) for r in rows}


async def _database_indexes(tablename: str) -> dict[str, str]:
    """Indexes that back no constraint (the primary key's and the uniques' are checked above)."""
    rows = await fetch(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) AS definition"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = $1::regclass"
        " AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
        tablename,
    )
    return {r["relname"]: r["definition"] for r in rows}


async def _primary_key(tablename: str) -> list[str]:
    rows = await fetch(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
        " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = $1::regclass AND i.indisprimary",
        tablename,
    )
    return [r["attname"] for r in rows]


async def test_the_migrated_database_matches_the_table_classes(db_pool: str) -> None:
    tables = await fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migration'"
    )
    assert {r["tablename"] for r in tables} == {t._meta.tablename for t in APP_CONFIG.table_classes}
    for table in APP_CONFIG.table_classes:
        tablename = table._meta.tablename
        assert await _database_columns(tablename) == _declared_columns(table), tablename
        assert await _primary_key(tablename) == [table._meta.primary_key._meta.db_column_name]
        assert await _database_uniques(table) == _declared_uniques(table), tablename
        assert await _database_indexes(tablename) == _declared_indexes(table), tablename


def test_every_index_of_the_migration_belongs_to_a_table() -> None:
    declared: dict[str, Any] = {}
    for table in APP_CONFIG.table_classes:
        declared.update(_declared_indexes(table))
    assert set(_migration_indexes()) <= set(declared)


def test_piccolo_finds_no_change_to_migrate(database_url: str, tmp_path: Path) -> None:
    # A copy of the app, so a migration Piccolo wrongly writes lands outside the tree.
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "core", tmp_path / "core", ignore=ignore)
    shutil.copy(ROOT / "piccolo_conf.py", tmp_path / "piccolo_conf.py")
    migrations = tmp_path / "core" / "piccolo_migrations"
    before = sorted(p.name for p in migrations.iterdir())

    result = subprocess.run(
        [sys.executable, "-m", "piccolo.main", "migrations", "new", "core", "--auto"],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout, result.stdout
    assert sorted(p.name for p in migrations.iterdir()) == before
