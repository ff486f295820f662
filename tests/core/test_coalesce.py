from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest

from core.coalesce import Coalescer


class Source:
    """A key-value source that records each call it answers."""

    def __init__(self, data: dict[str, int]) -> None:
        self.data = data
        self.calls: list[list[str]] = []
        self.fail: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def load_many(self, keys: Sequence[str]) -> Mapping[str, int]:
        self.calls.append(list(keys))
        found = {key: self.data[key] for key in keys if key in self.data}  # its snapshot
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return found


async def test_loads_of_one_turn_share_one_call() -> None:
    source = Source({"a": 1, "b": 2})
    loads = Coalescer(source.load_many)
    assert await asyncio.gather(loads.load("a"), loads.load("b"), loads.load("missing")) == [
        1,
        2,
        None,
    ]
    assert source.calls == [["a", "b", "missing"]]
    assert (loads.calls, loads.keys) == (1, 3)


async def test_a_key_asked_twice_is_loaded_once_and_answers_both() -> None:
    source = Source({"a": 1})
    loads = Coalescer(source.load_many)
    assert await asyncio.gather(loads.load("a"), loads.load("a")) == [1, 1]
    assert source.calls == [["a"]]


async def test_a_load_after_a_change_sees_it() -> None:
    source = Source({"a": 1})
    loads = Coalescer(source.load_many)
    assert await loads.load("a") == 1
    source.data["a"] = 2
    assert await loads.load("a") == 2
    assert source.calls == [["a"], ["a"]]


async def test_loads_asked_while_a_call_runs_wait_for_a_new_call() -> None:
    # A load must not be answered by a call that started before it was asked.
    source = Source({"a": 1})
    source.gate = asyncio.Event()
    loads = Coalescer(source.load_many)
    first = asyncio.ensure_future(loads.load("a"))
    await asyncio.sleep(0.01)
    assert source.calls == [["a"]]
    source.data["a"] = 2
    second = asyncio.ensure_future(loads.load("a"))
    await asyncio.sleep(0.01)
    source.gate.set()
    assert (await first, await second) == (1, 2)
    assert source.calls == [["a"], ["a"]]


async def test_batches_are_split_at_max_batch() -> None:
    source = Source({str(i): i for i in range(7)})
    loads = Coalescer(source.load_many, max_batch=3)
    got = await asyncio.gather(*(loads.load(str(i)) for i in range(7)))
    assert got == list(range(7))
    assert [len(call) for call in source.calls] == [3, 3, 1]


async def test_an_error_reaches_every_load_of_its_call() -> None:
    source = Source({"a": 1})
    source.fail = ConnectionError("database went away")
    loads = Coalescer(source.load_many)
    results = await asyncio.gather(loads.load("a"), loads.load("b"), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    source.fail = None
    assert await loads.load("a") == 1


async def test_a_cancelled_load_leaves_the_others_of_its_call() -> None:
    source = Source({"a": 1, "b": 2})
    source.gate = asyncio.Event()
    loads = Coalescer(source.load_many)
    first = asyncio.ensure_future(loads.load("a"))
    second = asyncio.ensure_future(loads.load("a"))
    other = asyncio.ensure_future(loads.load("b"))
    await asyncio.sleep(0.01)
    first.cancel()
    source.gate.set()
    assert (await second, await other) == (1, 2)
    with pytest.raises(asyncio.CancelledError):
        await first


def test_a_new_event_loop_starts_afresh() -> None:
    source = Source({"a": 1})
    loads = Coalescer(source.load_many)
    assert asyncio.run(loads.load("a")) == 1
    assert asyncio.run(loads.load("a")) == 1
    assert source.calls == [["a"], ["a"]]
