"""What the API's handlers are given: the store, the token service, the caller."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide

from core.runtime import Runtime, Store
from core.tokens import TokenService
from web.auth import provide_principal


def runtime_of(request: Request[Any, Any, Any]) -> Runtime:
    runtime: Runtime = request.app.state["runtime"]
    return runtime


def provide_store(request: Request[Any, Any, Any]) -> Store:
    return runtime_of(request).store


def provide_tokens(request: Request[Any, Any, Any]) -> TokenService:
    return runtime_of(request).tokens


DEPENDENCIES = {
    "store": Provide(provide_store, sync_to_thread=False),
    "tokens": Provide(provide_tokens, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
}
