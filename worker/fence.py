"""A link's fence: its batches write only while no newer link of its kind took over.

The number comes from the database (``core.queries.chain_fences``); the lease
in Redis says who may take one. A link takes the next number once it holds the
lease, then checks that it still holds the lease: a link paused between the
two (its lease lapsed and another link took over meanwhile) may have taken a
number after the new holder, and stops there without writing. Each batch
passes the fence first thing in its own transaction. A batch that finds the
number moved on asks whether its link still holds the lease: if so, the number
was moved by such a stale link, and the link takes a new one and goes on;
otherwise another link took the kind over and :class:`Fenced` is raised, with
nothing written (docs/adr/0011).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.db import transaction
from core.queries import chain_fences

T = TypeVar("T")

# Stale links each move the number at most once; more moves than this under a
# lease still held mean something else is wrong, and the link gives up.
MAX_RETAKES = 3


class Fenced(Exception):
    """The fence moved on: another link of this kind took over."""


class _Moved(Exception):
    pass


class Fence:
    """The fence of one link of ``kind``; ``holds_lease`` renews the link's lease and
    says whether it still held it."""

    def __init__(
        self, kind: str, holds_lease: Callable[[], Awaitable[bool]], *, idle_timeout_ms: int
    ) -> None:
        self.kind = kind
        self._holds_lease = holds_lease
        self._idle_timeout_ms = idle_timeout_ms
        self._retakes = 0
        self.number: int | None = None

    async def take(self) -> int:
        """Take the kind's next number; :class:`Fenced` if the lease was lost meanwhile."""
        number = await chain_fences.take(self.kind)
        if not await self._holds_lease():
            raise Fenced
        self.number = number
        return number

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """``work()`` in one transaction that first passes the fence."""
        if self.number is None:
            await self.take()
        while True:
            try:
                return await self._run_once(work)
            except _Moved:
                if self._retakes >= MAX_RETAKES or not await self._holds_lease():
                    raise Fenced from None
                self._retakes += 1
                await self.take()

    async def _run_once(self, work: Callable[[], Awaitable[T]]) -> T:
        assert self.number is not None
        async with transaction():
            passed = await chain_fences.pass_fence(
                self.kind, self.number, idle_timeout_ms=self._idle_timeout_ms
            )
            if not passed:
                raise _Moved
            # A core batch opens its own transaction, which joins this one.
            return await work()
