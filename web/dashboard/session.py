"""Dashboard sessions: a random id in an HttpOnly, SameSite=Strict cookie; data server-side.

The session holds only the id of the token that logged in (and the last
namespace looked at). The token itself is never stored: every request turns
the id back into a principal through ``TokenService.principal``, so revoking
or expiring a token ends its sessions at once.

Sessions live in Redis when ``REDIS_URL`` is set, so every web process sees
every session; without Redis (a single process in development) they live in
memory and end with the process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.plugins import InitPluginProtocol
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.types import Empty, Message, Receive, Scope, ScopeSession, Send
from litestar.utils.dataclass import extract_dataclass_items
from redis.asyncio import Redis as AsyncRedis

if TYPE_CHECKING:
    from litestar.config.app import AppConfig
    from litestar.connection import ASGIConnection
    from litestar.types import ASGIApp

SESSION_STORE = "dashboard-sessions"
SESSION_COOKIE = "secretstore_session"
# A working day; every response slides the expiry forward.
SESSION_MAX_AGE = 8 * 3600
# Set by login: the next response stores the session under a fresh id.
RENEW_ID = "_renew_id"


class DashboardSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend with two changes.

    - An empty session is not stored: anonymous page views (the login page)
      would otherwise leave one store entry each.
    - A login renews the session id, so an id planted in a browser before the
      login (session fixation) never becomes an authenticated session.
    """

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        cookie_id = connection.cookies.get(self.config.key)
        has_cookie = bool(cookie_id) and cookie_id != "null"
        if scope_session is Empty or not scope_session:
            if has_cookie:
                await super().store_in_message(Empty, message, connection)
            return
        data = dict(scope_session) if isinstance(scope_session, dict) else {}
        renew = bool(data.pop(RENEW_ID, False))
        store = self.config.get_store_from_app(connection.scope["app"])
        if renew or not has_cookie:
            if has_cookie and cookie_id:
                await self.delete(cookie_id, store=store)
            session_id = self.generate_session_id()
        else:
            session_id = str(cookie_id)
        await self.set(session_id, self.serialize_data(data, connection.scope), store=store)
        params = dict(
            extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys())
        )
        MutableScopeHeaders.from_message(message).add(
            "Set-Cookie",
            Cookie(value=session_id, key=self.config.key, **params).to_header(header=""),
        )


@dataclass
class DashboardSessionConfig(ServerSideSessionConfig):
    _backend_class = DashboardSessionBackend


def session_config() -> DashboardSessionConfig:
    return DashboardSessionConfig(
        key=SESSION_COOKIE,
        store=SESSION_STORE,
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="strict",
    )


def session_store(redis_url: str | None, namespace: str) -> Store:
    """Sessions in Redis under the key ``namespace``, or in memory without Redis."""
    if redis_url:
        # from_url, not RedisStore.with_client: the latter always passes a TCP
        # port, which a unix-socket URL (the embedded default's Redis) refuses.
        client = AsyncRedis.from_url(redis_url)
        return RedisStore(redis=client, namespace=namespace, handle_client_shutdown=True)
    return MemoryStore()


class SessionStorePlugin(InitPluginProtocol):
    """Registers the session store with the app, which then closes it on shutdown."""

    def __init__(self, redis_url: str | None, namespace: str) -> None:
        self._redis_url = redis_url
        self._namespace = namespace

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        store = session_store(self._redis_url, self._namespace)
        stores = app_config.stores
        if stores is None:
            app_config.stores = {SESSION_STORE: store}
        elif isinstance(stores, dict):
            stores[SESSION_STORE] = store
        else:
            stores.register(SESSION_STORE, store, allow_override=True)
        return app_config


_SECURE = re.compile(rb";\s*secure\s*(;|$)", re.IGNORECASE)


def secure_cookies_middleware(app: ASGIApp) -> ASGIApp:
    """Marks every cookie ``Secure`` on a request that arrived over HTTPS.

    Whether the dashboard is served over HTTPS is known per request (behind a
    TLS-terminating proxy, uvicorn's ``--proxy-headers`` sets the scheme), not
    when the app is configured, so the flag is added here rather than in the
    cookie settings; over plain HTTP (local development) a Secure cookie would
    never be sent back.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("scheme") != "https":
            await app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"set-cookie" and not _SECURE.search(value):
                        value = value + b"; Secure"
                    headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_secure)

    return middleware


def session_data(token_id: str) -> dict[str, Any]:
    """What a login puts in a fresh session."""
    return {"token_id": token_id, RENEW_ID: True}
