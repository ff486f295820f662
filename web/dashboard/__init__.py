"""The operator dashboard: Jinja2 pages and htmx partials over the same core as the API.

``web.app.create_app`` calls :func:`dashboard_parts` and adds what it returns
to the application: the page routes (with their session and CSRF middleware,
which therefore never run on the API) and the static files, the htmx plugin and
the template engine.

Default path: a person signs in with an API token at ``/login``; the session
keeps the token's id and every request turns it back into the token's live
principal, so what the pages show and allow follows that token's namespaces
and capabilities, and a revoked token is signed out on its next click. Every
action is an htmx request that swaps the part of the page it changes.

Caveats:

- Session records and CSRF tokens are authenticated with
  ``SECRET_STORE_SESSION_SECRET``, which every web process must share: the
  app refuses to start without it, except in the embedded default, where
  ``secretstore dev`` keeps one in the data directory.
- The pages send no inline script or style: the app's Content-Security-Policy
  forbids both, so behaviour lives in ``/static/app.js`` and htmx is configured
  without ``eval``.
"""

from __future__ import annotations

import secrets as random_source
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.htmx import HTMXConfig, HTMXPlugin, HTMXRequest
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from core.runtime import Runtime
from web.dashboard import activity, login, secret_pages, settings_pages, token_pages
from web.dashboard.context import provide_viewer
from web.dashboard.errors import EXCEPTION_HANDLERS
from web.dashboard.present import FILTERS, GLOBALS, duration_text
from web.dashboard.render import DashboardOptions
from web.dashboard.session import (
    DashboardSessionConfig,
    SessionRecordsPlugin,
    secure_cookies_middleware,
    session_config,
)
from web.dashboard.session_records import SessionSeal, session_records

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "web" / "static"


@dataclass
class DashboardParts:
    route_handlers: list[Any] = field(default_factory=list)
    plugins: list[Any] = field(default_factory=list)
    template_config: TemplateConfig[Any] | None = None


def _template_engine(runtime: Runtime) -> Callable[[JinjaTemplateEngine], None]:
    default_ttl = runtime.settings.store.default_ttl_ms

    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters.update(FILTERS)
        engine.engine.globals.update(GLOBALS)
        engine.engine.globals["default_ttl"] = duration_text(default_ttl)

    return configure


def dashboard_router(
    options: DashboardOptions, csrf: CSRFConfig, sessions: DashboardSessionConfig
) -> Router:
    """The pages; every route but the login ones takes the signed-in ``viewer``.

    The session and CSRF middleware sit on this router rather than on the app:
    the API authenticates each request by bearer token, which a browser never
    attaches on its own, so it has neither a session to read nor a form to forge.
    """
    signed_in = Router(
        path="/",
        route_handlers=[
            *secret_pages.ROUTES,
            *activity.ROUTES,
            *settings_pages.ROUTES,
            *token_pages.ROUTES,
        ],
        dependencies={"viewer": Provide(provide_viewer)},
    )
    return Router(
        path="/",
        route_handlers=[*login.ROUTES, signed_in],
        request_class=HTMXRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            secure_cookies_middleware,
            sessions.middleware,
            DefineMiddleware(CSRFMiddleware, config=csrf),
        ],
        dependencies={"options": Provide(lambda: options, use_cache=True, sync_to_thread=False)},
        # Pages show secret metadata and, on request, values: never cache them.
        cache_control=CacheControlHeader(no_store=True),
        include_in_schema=False,
    )


def dashboard_parts(runtime: Runtime) -> DashboardParts:
    settings = runtime.settings
    options = DashboardOptions(embedded=settings.web.embedded)
    session = settings.session
    # Only the embedded default started without `secretstore dev` gets here
    # without a secret (core.settings refuses it anywhere else).
    secret = session.secret or random_source.token_hex(32)
    records = session_records(settings.redis_url, settings.redis_key("dashboard", "sessions"))
    seal = SessionSeal.of(
        secret,
        settings.store.admin_token,
        idle_seconds=session.idle_seconds,
        lifetime_seconds=session.lifetime_seconds,
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        cache_control=CacheControlHeader(max_age=3600),
    )
    csrf = CSRFConfig(
        secret=secret,
        cookie_name="secretstore_csrf",
        header_name="x-csrftoken",
        cookie_httponly=True,
        cookie_samesite="strict",
    )
    return DashboardParts(
        route_handlers=[dashboard_router(options, csrf, session_config(seal, records)), static],
        plugins=[
            HTMXPlugin(HTMXConfig(set_request_class_globally=False)),
            # Under the deployment's Redis prefix, like its queues and leases.
            SessionRecordsPlugin(records),
        ],
        template_config=TemplateConfig(
            directory=TEMPLATES,
            engine=JinjaTemplateEngine,
            engine_callback=_template_engine(runtime),
        ),
    )
