"""The one PostgreSQL engine, and the two ways the store talks through it.

Piccolo owns the connection pool, the transactions (a contextvar per task) and
the migrations. The store's set-based statements (upserts, keyset pages,
``FOR UPDATE SKIP LOCKED`` claims, bulk rewraps) are written as SQL and run on
the connection of the current Piccolo transaction, so they join it, and on
asyncpg's prepared-statement cache.

Nothing is read from the environment here: each entry point (the web app, the
worker's middleware, the scheduler, the CLI, ``piccolo_conf.py`` for the
migrations) calls :func:`configure_database` with the URL of its settings
before the first statement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine


class _Engine(PostgresEngine):
    """Piccolo's engine without its connect-at-construction checks.

    The stock engine connects once when it is built (to read the server
    version and create extensions), which would make importing this module
    block on, or warn about, a database the process may never use. The store
    needs no extensions and its migrations fix the schema it relies on.
    """

    async def check_version(self) -> None:
        return None

    async def prep_database(self) -> None:
        return None


class _Connection(asyncpg.Connection):
    """A pooled connection released without asyncpg's session reset query.

    On every release asyncpg runs ``SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`` (one more round trip per request). The store never
    takes advisory locks, opens cursors, listens or changes settings, so there
    is nothing to reset; a connection released inside a transaction is still
    rolled back: asyncpg does that apart from this query (its documented
    ``get_reset_query`` hook).
    """

    def get_reset_query(self) -> str:
        return ""


DB = _Engine(config={"dsn": ""}, extensions=())


def configure_database(url: str) -> None:
    """Point the engine at ``url``; must happen before the pool opens."""
    DB.config = {"dsn": url}


async def open_pool(*, min_size: int = 1, max_size: int = 10) -> None:
    if DB.pool is None:
        await DB.start_connection_pool(
            min_size=min_size, max_size=max_size, connection_class=_Connection
        )


async def close_pool() -> None:
    if DB.pool is not None:
        await DB.close_connection_pool()


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """One database transaction for the current task; statements run by :func:`fetch` join it."""
    async with DB.transaction():
        yield


def in_transaction() -> bool:
    """Whether the current task is inside :func:`transaction`."""
    return DB.current_transaction.get() is not None


async def fetch(query: str, *args: Any) -> list[asyncpg.Record]:
    """Run ``query`` (``$1``-style parameters) in the current transaction, if any."""
    transaction = DB.current_transaction.get()
    if transaction is not None:
        rows: list[asyncpg.Record] = await transaction.connection.fetch(query, *args)
        return rows
    if DB.pool is not None:
        async with DB.pool.acquire() as connection:
            pooled: list[asyncpg.Record] = await connection.fetch(query, *args)
            return pooled
    connection = await asyncpg.connect(**DB.config)
    try:
        single: list[asyncpg.Record] = await connection.fetch(query, *args)
        return single
    finally:
        await connection.close()


async def connect(application_name: str) -> asyncpg.Connection:
    """A connection of its own, outside the pool (to ``LISTEN`` on, say).

    ``application_name`` names it in ``pg_stat_activity``.
    """
    config = dict(DB.config)
    config["server_settings"] = {
        **config.get("server_settings", {}),
        "application_name": application_name,
    }
    connection: asyncpg.Connection = await asyncpg.connect(**config)
    return connection


async def fetch_one(query: str, *args: Any) -> asyncpg.Record | None:
    rows = await fetch(query, *args)
    return rows[0] if rows else None
