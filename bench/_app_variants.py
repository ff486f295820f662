"""The shipped app with one of its hot-path parts turned off, for bench/api.py --variants.

Each shows, in the same run, what one part contributes to the real GET:

- ``routed``: ``create_app(read_path=False)``, so every request goes through
  Litestar's routing, guards and dependency injection (web.readpath off).
- ``uncached``: the token cache is never started, so every request looks its
  token up in PostgreSQL, as the worker and the CLI do (core.tokencache off).
- ``uncoalesced``: every read sends its own query (core.coalesce off).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar

from core.coalesce import Coalescer
from core.tokencache import TokenCache


def routed() -> Litestar:
    from web.app import create_app

    return create_app(read_path=False)


def uncached() -> Litestar:
    from web.app import create_app

    TokenCache.start = lambda self, connect: None  # type: ignore[method-assign]
    return create_app()


def uncoalesced() -> Litestar:
    from web.app import create_app

    async def load(self: Coalescer[Any, Any], key: Any) -> Any:
        return (await self._load_many([key])).get(key)

    Coalescer.load = load  # type: ignore[method-assign]
    return create_app()
