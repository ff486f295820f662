from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from core.keys import KeyRing, define_keys, parse_keys
from core.store import SecretStore
from tests.keys import KEY_1


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class MutableKeys:
    """The key configuration of a deployment, changeable mid-test."""

    def __init__(self, keys: dict[int, bytes]) -> None:
        self.set(keys)

    def set(self, keys: dict[int, bytes]) -> None:
        self.ring = parse_keys(define_keys(keys))

    def __call__(self) -> KeyRing:
        return self.ring


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keys() -> MutableKeys:
    return MutableKeys({1: KEY_1})


@pytest.fixture
def store(db: str, keys: MutableKeys, clock: Callable[[], datetime]) -> SecretStore[str, dict]:
    return SecretStore(keys, clock=clock)
