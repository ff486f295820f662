"""Who is looking at the dashboard, re-checked on every request.

``viewer`` is the dependency every signed-in page takes: it reads the token id
from the session and asks the token service for the live principal. A token
that was revoked or has expired gives no principal, the session is dropped and
the browser goes back to the login page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from core.access import Capability, Principal, authorize
from core.runtime import Runtime
from core.validation import is_namespace
from web.appstate import runtime_of

DEFAULT_NAMESPACE = "default"


class LoginRequired(Exception):
    """No live principal behind this request's session."""


@dataclass(frozen=True)
class Viewer:
    """The principal behind a dashboard session, with the runtime its pages read."""

    principal: Principal
    runtime: Runtime

    @property
    def actor(self) -> str:
        """The id recorded in the audit log for what this viewer changes."""
        return self.principal.token_id

    def may(self, capability: Capability, namespace: str) -> bool:
        """Whether to offer an action on a page (the action itself is authorized again)."""
        return self.principal.may(capability, namespace)

    def authorize(self, capability: Capability, namespace: str | None = None) -> None:
        """403 ``forbidden`` unless the token holds ``capability`` (in ``namespace``)."""
        authorize(self.principal, capability, namespace)


async def provide_viewer(request: Request[Any, Any, Any]) -> Viewer:
    runtime = runtime_of(request)
    token_id = request.session.get("token_id") if request.session else None
    principal = await runtime.tokens.principal(token_id) if isinstance(token_id, str) else None
    if principal is None:
        request.clear_session()
        raise LoginRequired
    return Viewer(principal=principal, runtime=runtime)


def current_namespace(request: Request[Any, Any, Any], asked: str | None, viewer: Viewer) -> str:
    """The namespace asked for in the URL, else the one last looked at, else a default.

    The default is ``default`` when the token may see it, otherwise the first
    namespace the token names exactly. A malformed namespace is kept as typed:
    the store refuses it with the API's message, shown on the page.
    """
    if asked is not None and asked.strip():
        namespace = asked.strip()
        if is_namespace(namespace):
            request.session["namespace"] = namespace
        return namespace
    remembered = request.session.get("namespace")
    if isinstance(remembered, str):
        return remembered
    scope = viewer.principal.scope
    if scope.contains(DEFAULT_NAMESPACE) or not scope.exact:
        return DEFAULT_NAMESPACE
    return scope.exact[0]
