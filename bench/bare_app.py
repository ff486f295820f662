"""The floor for bench/api.py: a bare Litestar app on the API's paths, no middleware.

``uvicorn --factory bench.bare_app:create_app`` with the same flags as the real
app. GET and PUT /api/v1/secrets/{namespace}/{name} answer a constant JSON of
the real answer's shape, with its ``ETag`` header (the PUT decodes its JSON
body first); nothing is authenticated, stored or encrypted.

With DATABASE_URL set it also serves a second reference, GET
/db/secrets/{namespace}/{name}: the bare handler plus the one SELECT the real
GET runs for the secret (the secret joined to its current version, the very
statement of core/queries/secret_rows.py, on an asyncpg pool of the same size as the real
app's, which like core.db's skips the session reset query on release), to show
what a single database round trip costs on this machine.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar, Response, get, put

from core.queries.secret_rows import _READ_ONE

SECRET = {
    "secret_id": "0b5f5a8e-5f8e-4b8e-9c39-6a1b7f0c2d11",
    "namespace": "bench",
    "name": "SECRET_0",
    "value": "v" * 100,
    "metadata": {"owner": "bench"},
    "created_at": "2026-11-29T12:00:00.123Z",
    "updated_at": "2026-11-29T12:00:00.123Z",
    "expires_at": None,
    "key_version": 1,
    "version": 1,
}
ETAG = {"ETag": '"1"'}
PUT_ANSWER = {k: v for k, v in SECRET.items() if k not in ("value", "metadata")} | {"is_new": False}
GET_SQL = _READ_ONE
_pool: list[asyncpg.Pool] = []


@get("/api/v1/secrets/{namespace:str}/{name:str}")
async def read(namespace: str, name: str) -> Response[dict[str, Any]]:
    return Response(SECRET, headers=ETAG)


@put("/api/v1/secrets/{namespace:str}/{name:str}", status_code=200)
async def write(namespace: str, name: str, data: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(PUT_ANSWER, headers=ETAG)


@get("/db/secrets/{namespace:str}/{name:str}")
async def read_one_query(namespace: str, name: str) -> Response[dict[str, Any]]:
    async with _pool[0].acquire() as conn:
        await conn.fetchrow(GET_SQL, namespace, name)
    return Response(SECRET, headers=ETAG)


async def _no_reset(_connection: asyncpg.Connection) -> None:
    return None


@asynccontextmanager
async def pool(_: Litestar) -> AsyncIterator[None]:
    url = os.environ["DATABASE_URL"]
    _pool.append(await asyncpg.create_pool(url, min_size=2, max_size=20, reset=_no_reset))
    try:
        yield
    finally:
        await _pool.pop().close()


def create_app() -> Litestar:
    with_db = bool(os.environ.get("DATABASE_URL"))
    return Litestar(
        route_handlers=[read, write, *([read_one_query] if with_db else [])],
        lifespan=[pool] if with_db else [],
        logging_config=None,
        openapi_config=None,
        debug=False,
    )
