"""Dashboard sessions: a random id in an HttpOnly, SameSite=Strict cookie; data server-side.

The session holds only the id of the token that logged in (and the last
namespace looked at). The token itself is never stored: every request turns
the id back into a principal through ``TokenService.principal``, so revoking
or expiring a token ends its sessions at once.

How a session is stored and checked (a hashed key, a MAC, an idle limit, an
absolute lifetime, the binding to the bootstrap admin token) is
:mod:`web.dashboard.session_records`. Records live in Redis when ``REDIS_URL``
is set, so every web process sees every session; without Redis (a single
process in development) they live in memory and end with the process.
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
from litestar.types import Empty, Message, Receive, Scope, ScopeSession, Send
from litestar.utils.dataclass import extract_dataclass_items

from web.dashboard.session_records import SessionRecords, SessionSeal

if TYPE_CHECKING:
    from litestar.config.app import AppConfig
    from litestar.connection import ASGIConnection
    from litestar.types import ASGIApp

SESSION_COOKIE = "secretstore_session"
# Set by login: the next response stores the session under a fresh id.
RENEW_ID = "_renew_id"
# Where a request keeps the sign-in time of the session it loaded.
_CREATED = "dashboard_session_created"


class DashboardSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend, storing :mod:`~web.dashboard.session_records`.

    - An empty session is not stored: anonymous page views (the login page)
      would otherwise leave one store entry each.
    - A login renews the session id, and so does any session data written
      without a loaded session, so an id planted in a browser (session
      fixation) never becomes an authenticated session.
    - A loaded session is written back only over its own record: once signed
      out, a request still in flight cannot bring it back.
    """

    config: DashboardSessionConfig

    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        session_id = connection.cookies.get(self.config.key)
        if not session_id:
            return {}
        seal, records = self.config.parts()
        key = seal.key(session_id)
        record = await records.read(key)
        opened = seal.open(key, record) if record is not None else None
        if opened is None:
            return {}
        data, created = opened
        connection.scope.setdefault("state", {})[_CREATED] = created
        return data

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        seal, records = self.config.parts()
        cookie_id = connection.cookies.get(self.config.key)
        old_key = seal.key(cookie_id) if cookie_id and cookie_id != "null" else None
        if scope_session is Empty or not scope_session:
            if old_key is not None:
                await records.remove(old_key)
                self._set_cookie(message, None)
            return
        data = dict(scope_session) if isinstance(scope_session, dict) else {}
        renew = bool(data.pop(RENEW_ID, False))
        created = connection.scope.get("state", {}).get(_CREATED)
        if renew or created is None or old_key is None:
            if old_key is not None:
                await records.remove(old_key)
            session_id = self.generate_session_id()
            key, created, existing = seal.key(session_id), seal.clock(), False
        else:
            session_id, key, existing = str(cookie_id), old_key, True
        record = seal.seal(key, data, created)
        stored = await records.write(key, record, seal.ttl_ms(created), existing=existing)
        self._set_cookie(message, session_id if stored else None)

    def _set_cookie(self, message: Message, session_id: str | None) -> None:
        """The session's cookie, or (``None``) one that deletes it from the browser."""
        params = dict(
            extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys())
        )
        if session_id is None:
            params.update(max_age=0, expires=0)
        MutableScopeHeaders.from_message(message).add(
            "Set-Cookie",
            Cookie(value=session_id or "", key=self.config.key, **params).to_header(header=""),
        )


@dataclass
class DashboardSessionConfig(ServerSideSessionConfig):
    _backend_class = DashboardSessionBackend
    seal: SessionSeal | None = None
    records: SessionRecords | None = None

    def parts(self) -> tuple[SessionSeal, SessionRecords]:
        if self.seal is None or self.records is None:
            raise RuntimeError("DashboardSessionConfig needs a seal and records")
        return self.seal, self.records


def session_config(seal: SessionSeal, records: SessionRecords) -> DashboardSessionConfig:
    return DashboardSessionConfig(
        key=SESSION_COOKIE,
        max_age=seal.idle_seconds,
        httponly=True,
        samesite="strict",
        seal=seal,
        records=records,
    )


class SessionRecordsPlugin(InitPluginProtocol):
    """Closes the session records' connection when the app shuts down."""

    def __init__(self, records: SessionRecords) -> None:
        self._records = records

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.on_shutdown.append(self._records.close)
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
