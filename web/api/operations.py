"""``/api/v1/health`` and ``/api/v1/ready``: for load balancers and orchestrators, no token.

Health says the process serves. Readiness says it can do its work: the
database answers and the key configuration parses. A failing part is named
with the reason, never with key material (core's key errors never carry any)
and never with a driver's message, which can include connection details.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from core.db import fetch
from core.errors import SecretStoreError
from web.api.schemas import HealthRead, NotReadyRead, ReadyChecks, ReadyRead
from web.appstate import runtime_of

READY_TIMEOUT_SECONDS = 2.0


@get("/health", tags=["operations"], summary="The process serves", security=[])
async def health() -> HealthRead:
    return HealthRead(status="ok")


@get(
    "/ready",
    tags=["operations"],
    summary="The database answers and the key configuration is valid",
    security=[],
    responses={
        503: ResponseSpec(
            NotReadyRead,
            description="`unavailable` (database) or `invalid_keys`; `checks` names the part",
            generate_examples=False,
        )
    },
)
async def ready(request: Request[Any, Any, Any]) -> Response[ReadyRead]:
    database = await _database_check()
    keys = _keys_check(request)
    checks = ReadyChecks(database=database, keys=keys)
    if database == "ok" and keys == "ok":
        return Response(ReadyRead(status="ok", checks=checks))
    code = "unavailable" if database != "ok" else "invalid_keys"
    failing = ", ".join(
        part for part, state in (("database", database), ("keys", keys)) if state != "ok"
    )
    body = NotReadyRead(
        code=code, message=f"not ready: {failing}", status="unavailable", checks=checks
    )
    # The 503 body is another struct, documented under `responses` above.
    return Response(body, status_code=503)  # type: ignore[arg-type]


async def _database_check() -> str:
    try:
        await asyncio.wait_for(fetch("SELECT 1"), READY_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"unavailable: no answer within {READY_TIMEOUT_SECONDS:g} s"
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
    return "ok"


def _keys_check(request: Request[Any, Any, Any]) -> str:
    try:
        runtime_of(request).keys.current()
    except SecretStoreError as exc:
        return f"invalid: {exc.message}"
    return "ok"
