"""Concurrent loads by key, answered together: one call per event-loop turn.

A web process serving many reads at once would otherwise send one query per
read. :class:`Coalescer` gathers the keys asked for while the event loop runs
one turn of ready callbacks and loads them with one call on the next turn, so
a busy process sends one query for many reads and an idle one adds no delay
(a lone key is loaded on the very next turn, with no timer).

A load asked for at time *t* is served by a call that starts after *t*, so it
sees every write committed before it was asked for: coalescing changes the
number of round trips, never what a read can see.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Loader = Callable[[Sequence[K]], Awaitable[Mapping[K, V]]]


class Coalescer(Generic[K, V]):
    """``await coalescer.load(key)``: the value ``load_many`` gives for ``key``, or None.

    ``load_many`` receives distinct keys (at most ``max_batch``) and returns
    the values of those it found. If it raises, every load it served raises the
    same error. A cancelled load does not cancel the others of its batch.
    """

    def __init__(self, load_many: Loader[K, V], *, max_batch: int = 100) -> None:
        self._load_many = load_many
        self._max_batch = max_batch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[K, list[asyncio.Future[V | None]]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self.calls = 0
        self.keys = 0

    async def load(self, key: K) -> V | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._pending = loop, {}
        if not self._pending:
            # A fresh context: the batch's call belongs to no one request.
            loop.call_soon(self._flush, context=contextvars.Context())
        future: asyncio.Future[V | None] = loop.create_future()
        self._pending.setdefault(key, []).append(future)
        return await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        keys = list(pending)
        for start in range(0, len(keys), self._max_batch):
            batch = {key: pending[key] for key in keys[start : start + self._max_batch]}
            task = asyncio.get_running_loop().create_task(self._serve(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _serve(self, batch: dict[K, list[asyncio.Future[V | None]]]) -> None:
        self.calls += 1
        self.keys += len(batch)
        try:
            found = await self._load_many(list(batch))
        except asyncio.CancelledError:
            for future in _waiting(batch):
                future.cancel()
            raise
        except Exception as error:
            for future in _waiting(batch):
                future.set_exception(error)
            return
        for key, futures in batch.items():
            value = found.get(key)
            for future in futures:
                if not future.done():
                    future.set_result(value)


def _waiting(batch: dict[K, list[asyncio.Future[V | None]]]) -> list[asyncio.Future[V | None]]:
    return [future for futures in batch.values() for future in futures if not future.done()]
