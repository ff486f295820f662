"""What the API's handlers are given: one :class:`Caller`, the only dependency.

A single dependency on purpose: Litestar resolves two or more dependencies of
one handler in an anyio task group, a task per dependency on every request,
which cost the read path more than its database query (bench/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.di import Provide

from core.access import Capability, Principal, authorize
from core.runtime import Store
from core.tokens import TokenService
from web.appstate import runtime_of


@dataclass(frozen=True, slots=True)
class Caller:
    """The principal a route acts for, with the services it acts through."""

    principal: Principal
    store: Store
    tokens: TokenService

    @property
    def actor(self) -> str:
        """The id recorded in the audit log for what this caller changes."""
        return self.principal.token_id

    def authorize(self, capability: Capability, namespace: str | None = None) -> None:
        """403 ``forbidden`` unless the caller holds ``capability`` (in ``namespace``)."""
        authorize(self.principal, capability, namespace)


def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """Dependency: the principal :func:`web.auth.require_token` authenticated."""
    runtime = runtime_of(request)
    principal: Principal = request.scope["user"]
    return Caller(principal=principal, store=runtime.store, tokens=runtime.tokens)


DEPENDENCIES = {"caller": Provide(provide_caller, sync_to_thread=False)}
