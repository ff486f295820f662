"""Starting chains, the lease, and what happens when Redis is down (no worker needed)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from core.errors import SecretStoreError
from tests.support import ROOT, VENV_BIN
from worker import middleware
from worker.broker import installed
from worker.chains import (
    LINK_ACTORS,
    Link,
    chain_state,
    is_running,
    lease_for,
    resume_chain,
    start_chain,
)
from worker.lease import ChainLease
from worker.scheduler import start_cleanup


def queued_links(client: redis.Redis[bytes]) -> list[dict[str, Any]]:
    setup = installed()
    messages = client.hvals(f"{setup.broker.namespace}:chains.msgs")
    return [json.loads(m) for m in messages]


def test_a_trigger_while_a_chain_runs_joins_it(chain_redis: redis.Redis[bytes]) -> None:
    assert start_chain("rotation", actor="token-1") is True
    assert start_chain("rotation", actor="token-2") is False
    assert is_running("rotation")
    assert not is_running("cleanup_secrets")

    [link] = queued_links(chain_redis)
    assert link["actor_name"] == LINK_ACTORS["rotation"]
    assert link["kwargs"]["step"] == 0
    assert link["kwargs"]["actor"] == "token-1"


def test_each_kind_of_chain_has_its_own_lease() -> None:
    assert start_chain("cleanup_secrets", retention_ms=86_400_000)
    assert start_chain("cleanup_events")
    assert start_chain("rotation")
    assert not start_chain("cleanup_events", retention_ms=1000)


@pytest.mark.parametrize("retention_ms", [0, -1, 1.5, "10", True, 10**18])
def test_a_bad_retention_is_refused_before_anything_starts(retention_ms: object) -> None:
    with pytest.raises(SecretStoreError) as caught:
        start_chain("cleanup_secrets", retention_ms=retention_ms)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_argument"
    assert not is_running("cleanup_secrets")


def test_rotation_takes_no_retention_and_unknown_chains_are_refused() -> None:
    with pytest.raises(SecretStoreError) as caught:
        start_chain("rotation", retention_ms=1000)
    assert caught.value.code == "invalid_argument"
    with pytest.raises(SecretStoreError) as caught:
        start_chain("compaction")  # type: ignore[arg-type]
    assert caught.value.code == "invalid_argument"


def test_the_scheduled_cleanup_starts_both_cleanup_chains(chain_redis: redis.Redis[bytes]) -> None:
    start_cleanup()
    assert is_running("cleanup_secrets") and is_running("cleanup_events")
    assert not is_running("rotation")
    links = queued_links(chain_redis)
    assert sorted(link["actor_name"] for link in links) == [
        "cleanup_events_link",
        "cleanup_secrets_link",
    ]
    assert {link["kwargs"]["actor"] for link in links} == {"scheduler"}


# -- the lease -----------------------------------------------------------------


@pytest.fixture
def lease(chain_redis: redis.Redis[bytes]) -> ChainLease:
    return lease_for("rotation")


def enters(lease: ChainLease, link: Link) -> bool:
    return lease.enter(link.holder, after=link.predecessor, token=link.lease_token)


def claims(lease: ChainLease, link: Link) -> bool:
    return lease.claim_work(link.holder, {"token": link.lease_token})


def test_only_one_claim_of_a_lease_wins(lease: ChainLease) -> None:
    first, second = Link.first(None, None), Link.first(None, None)
    assert claims(lease, first)
    assert not claims(lease, second)
    assert enters(lease, first)
    assert not enters(lease, second)


def test_two_copies_of_a_step_never_fork_the_chain(lease: ChainLease) -> None:
    start = Link.first(None, None)
    assert claims(lease, start)
    # Link 0 ran twice (redelivered while still running) and sent link 1 twice.
    copy_a, copy_b = start.following(), start.following()
    assert enters(lease, copy_a)
    assert not enters(lease, copy_b)
    # A retried or redelivered copy A still holds the lease; link 0 is behind it.
    assert enters(lease, copy_a)
    assert not enters(lease, start)
    assert enters(lease, copy_a.following())
    assert not enters(lease, copy_a)


def test_a_link_takes_over_only_from_the_step_just_before_it(lease: ChainLease) -> None:
    link = Link.first(None, None)
    for _ in range(10):
        link = link.following()
    assert claims(lease, link)  # step 10 holds the lease
    step_2 = Link(link.lease_token, 2, "x")
    step_12 = Link(link.lease_token, 12, "y")
    assert not enters(lease, step_2)
    assert not enters(lease, step_12)
    assert enters(lease, link.following())


def test_a_link_cannot_take_or_release_the_lease_of_a_newer_chain(
    lease: ChainLease, chain_redis: redis.Redis[bytes]
) -> None:
    old = Link.first(None, None)
    assert claims(lease, old)
    chain_redis.delete(lease.key)  # the old chain's lease lapsed
    new = Link.first(None, None)
    assert claims(lease, new)
    assert not enters(lease, old)
    assert not enters(lease, old.following())
    assert not lease.release(old.holder)
    assert lease.holder() == new.holder
    assert lease.release(new.holder)
    assert not lease.is_held()


def test_a_lapsed_lease_is_taken_by_the_link_that_finds_it(
    lease: ChainLease, chain_redis: redis.Redis[bytes]
) -> None:
    start = Link.first(None, None)
    assert claims(lease, start)
    chain_redis.delete(lease.key)
    # The redelivered link carries on where its chain stalled.
    assert enters(lease, start.following())
    assert not claims(lease, Link.first(None, None))


def test_a_lapsed_lease_is_taken_only_by_the_chain_that_owns_the_work(
    lease: ChainLease, chain_redis: redis.Redis[bytes]
) -> None:
    old = Link.first(None, None)
    assert claims(lease, old)
    chain_redis.delete(lease.key)  # its worker died
    new = Link.first(None, None)
    assert claims(lease, new)  # a trigger started a new chain, which owns the work now
    chain_redis.delete(lease.key)  # and its worker died too
    # A late copy of the old chain's link finds the work is not its chain's.
    assert not enters(lease, old.following())
    resumed = new.following()
    assert enters(lease, resumed)
    assert lease.release(resumed.holder)  # the chain finished
    # A finished chain's late link never comes back.
    assert not enters(lease, resumed.following())
    assert chain_state("rotation") == "idle"


def test_a_renewal_never_takes_back_a_lapsed_lease(
    lease: ChainLease, chain_redis: redis.Redis[bytes]
) -> None:
    link = Link.first(None, None)
    assert claims(lease, link)
    assert lease.renew(link.holder)
    chain_redis.delete(lease.key)
    assert not lease.renew(link.holder)
    assert not lease.is_held()


def test_a_stalled_chain_is_resumed_once_with_what_it_was_started_with(
    chain_redis: redis.Redis[bytes],
) -> None:
    assert not resume_chain("cleanup_secrets")  # nothing to resume
    assert start_chain("cleanup_secrets", actor="token-1", retention_ms=60_000)
    assert chain_state("cleanup_secrets") == "running"
    assert not resume_chain("cleanup_secrets")  # it runs
    [first] = queued_links(chain_redis)
    chain_redis.delete(lease_for("cleanup_secrets").key)  # its worker died
    assert chain_state("cleanup_secrets") == "resuming"
    assert not is_running("cleanup_secrets")

    assert resume_chain("cleanup_secrets")
    assert not resume_chain("cleanup_secrets")
    assert chain_state("cleanup_secrets") == "running"
    [resumed] = [m for m in queued_links(chain_redis) if m["message_id"] != first["message_id"]]
    assert resumed["kwargs"]["actor"] == "token-1"
    assert resumed["kwargs"]["retention_ms"] == 60_000
    assert resumed["kwargs"]["step"] == 0
    assert resumed["kwargs"]["lease_token"] != first["kwargs"]["lease_token"]
    # The dead chain's link, delivered again, finds the work taken over.
    stale = Link(**first["kwargs"])
    assert not lease_for("cleanup_secrets").enter(
        stale.holder, after=stale.predecessor, token=stale.lease_token
    )


def test_a_new_lease_lasts_its_configured_lifetime() -> None:
    config = installed().config
    ttl = installed().client.pttl(lease_for("rotation").key)
    assert ttl == -2  # no lease yet
    assert start_chain("rotation")
    ttl = installed().client.pttl(lease_for("rotation").key)
    assert config.lease_ttl_ms - 1000 < ttl <= config.lease_ttl_ms


# -- failures ------------------------------------------------------------------


def test_domain_errors_are_not_retried_and_passing_failures_are() -> None:
    assert not middleware.should_retry(0, SecretStoreError("invalid_keys", "bad keys"))
    assert not middleware.should_retry(0, SecretStoreError("invalid_argument", "bad"))
    assert middleware.should_retry(0, SecretStoreError("unavailable", "database down"))
    assert middleware.should_retry(3, ConnectionRefusedError())
    assert middleware.should_retry(3, redis.ConnectionError())
    assert not middleware.should_retry(middleware.MAX_RETRIES, ConnectionRefusedError())


def test_every_link_actor_has_the_configured_time_limit() -> None:
    setup = installed()
    import worker.actors  # noqa: F401  (declares the actors on this broker)

    for name in LINK_ACTORS.values():
        limit = setup.broker.get_actor(name).options["time_limit"]
        assert limit == setup.config.link_time_limit_ms


_REDIS_DOWN_SCRIPT = """
import json, time
from core.errors import SecretStoreError
from worker.chains import is_running, start_chain

def attempt(call):
    started = time.monotonic()
    try:
        return ["ok", call(), 0]
    except SecretStoreError as error:
        return [error.code, error.message, time.monotonic() - started]

print(json.dumps({
    "bad_retention": attempt(lambda: start_chain("cleanup_events", retention_ms=0)),
    "start": attempt(lambda: start_chain("rotation")),
    "running": attempt(lambda: is_running("rotation")),
}))
"""


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung Redis."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("redis_state", ["refusing", "silent"])
def test_with_redis_down_starting_a_chain_fails_fast_as_unavailable(
    redis_state: str, silent_port: int
) -> None:
    port = silent_port if redis_state == "silent" else closed_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
    }
    started = time.monotonic()
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", _REDIS_DOWN_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)

    assert results["bad_retention"][0] == "invalid_argument"
    for name in ("start", "running"):
        code, message, seconds = results[name]
        assert code == "unavailable"
        assert "Redis" in message
        assert seconds < 3
    assert time.monotonic() - started < 15
