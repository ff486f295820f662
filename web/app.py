"""The Litestar application: the JSON API under /api/v1 and the dashboard, over one core.

``create_app()`` is what ``uvicorn --factory web.app:create_app`` serves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar

from core.db import close_pool, configure_database, open_pool
from core.logs import configure_logging
from core.runtime import Runtime, build_runtime
from web.api import api_router
from web.dashboard import dashboard_parts
from web.errors import exception_handlers
from web.security import security_headers_middleware


def create_app(runtime: Runtime | None = None) -> Litestar:
    runtime = runtime or build_runtime()
    configure_logging()
    if runtime.settings.database_url:
        configure_database(runtime.settings.database_url)

    @asynccontextmanager
    async def database_pool(_: Litestar) -> AsyncIterator[None]:
        await open_pool(min_size=2, max_size=20)
        try:
            yield
        finally:
            await close_pool()

    dashboard = dashboard_parts(runtime)
    kwargs: dict[str, Any] = {
        "route_handlers": [api_router, *dashboard.route_handlers],
        "lifespan": [database_pool],
        "exception_handlers": exception_handlers(),
        "middleware": [security_headers_middleware, *dashboard.middleware],
        "plugins": list(dashboard.plugins),
        "state": {"runtime": runtime},
        "debug": False,
    }
    if dashboard.template_config is not None:
        kwargs["template_config"] = dashboard.template_config
    if dashboard.csrf_config is not None:
        kwargs["csrf_config"] = dashboard.csrf_config
    return Litestar(**kwargs)
