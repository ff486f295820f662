"""Chains: rotation and cleanup as sequences of messages, one batch per message.

Default path: :func:`start_chain` claims the chain's lease and sends its first
link; each link (:func:`run_link`, called by the actors in ``worker.actors``)
enters the lease, runs one core batch in one transaction, and only after that
commits and only if the batch was not the last sends the next link. The chain
stops by itself when a batch reports it is done, which core decides: a batch
that claimed fewer rows than its limit. Orphans and rows whose KEK no longer
unwraps them are never claimed again, so a store holding only those ends the
chain after one batch instead of spinning.

Caveats:

- At most one chain of each kind runs. The chain's lease (:mod:`worker.lease`)
  names the link that holds it, ``<token>:<step>:<link id>``: the token is drawn
  when the chain starts and every message carries it with its step and an id
  of its own. A link may run when it holds the lease already (it is being
  retried or redelivered), when the lease lapsed, or when the link before it
  (``<token>:<step - 1>:``) holds it; any other holder means another chain, or
  another copy of this step, owns the work, and the link stops. So of two
  copies of one step only the first to enter goes on, and the chain never
  forks. A trigger while a chain runs joins it and gets ``False``; its
  ``retention_ms`` is not used, the running chain keeps its own.
- A link killed mid-batch loses nothing: its transaction rolls back, Dramatiq
  redelivers the unacknowledged message once the dead worker's heartbeat
  lapses, and the link, still named in the lease, runs again. Rows are claimed
  ``FOR UPDATE SKIP LOCKED`` and rewrapped in the claiming transaction, so no
  row is rewrapped twice however often a link runs. When the lease itself
  lapsed and the scheduler's watchdog started a new chain, a late redelivered
  link finds the lease taken and stops.
- With Redis unreachable, :func:`start_chain` and :func:`is_running` raise
  ``SecretStoreError("unavailable")`` within about two seconds.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, get_args

import dramatiq
import redis
from dramatiq.asyncio import get_event_loop_thread

from core.errors import SecretStoreError
from core.validation import check_duration_ms, invalid
from worker.broker import installed
from worker.lease import Lease

log = logging.getLogger("secretstore.worker")

ChainKind = Literal["rotation", "cleanup_secrets", "cleanup_events", "seal"]
CHAIN_KINDS: tuple[ChainKind, ...] = get_args(ChainKind)

QUEUE_NAME = "chains"
# The actors in worker.actors carry these names. Links are sent by name, so a
# web process can start a chain without importing the actors.
LINK_ACTORS: Mapping[ChainKind, str] = {
    "rotation": "rotation_link",
    "cleanup_secrets": "cleanup_secrets_link",
    "cleanup_events": "cleanup_events_link",
    "seal": "seal_link",
}


# The audit table's actor column holds this many characters.
MAX_ACTOR_LENGTH = 64


@dataclass(frozen=True)
class Link:
    """What one message of a chain carries: ids and numbers, never an object.

    ``link_id`` is drawn when the message is first sent and stays the same when
    Dramatiq retries or redelivers it, so a link recognises its own lease.
    """

    lease_token: str
    step: int
    link_id: str
    actor: str | None = None
    retention_ms: int | None = None

    @classmethod
    def first(cls, actor: str | None, retention_ms: int | None) -> Link:
        return cls(secrets.token_hex(16), 0, secrets.token_hex(8), actor, retention_ms)

    def following(self) -> Link:
        return Link(
            self.lease_token, self.step + 1, secrets.token_hex(8), self.actor, self.retention_ms
        )

    @property
    def holder(self) -> str:
        """How the lease names this link."""
        return f"{self.lease_token}:{self.step}:{self.link_id}"

    @property
    def predecessor(self) -> str | None:
        """How the lease names any copy of the link before this one."""
        return f"{self.lease_token}:{self.step - 1}:" if self.step > 0 else None

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "lease_token": self.lease_token,
            "step": self.step,
            "link_id": self.link_id,
            "actor": self.actor,
            "retention_ms": self.retention_ms,
        }


@dataclass(frozen=True)
class BatchReport:
    """What a link logs about its batch: whether it was the last, and its counts."""

    is_done: bool
    counts: Mapping[str, int]


Batch = Callable[[Link], Awaitable[BatchReport]]


@cache
def lease_for(kind: ChainKind) -> Lease:
    setup = installed()
    return Lease(setup.client, setup.config.key("chain", kind, "lease"), setup.config.lease_ttl_ms)


def start_chain(
    kind: ChainKind, *, actor: str | None = None, retention_ms: int | None = None
) -> bool:
    """Start the chain of ``kind``, or join the one running.

    Returns ``True`` when this call started a new chain, ``False`` when one was
    already running. ``actor`` is recorded on the audit events the chain writes.
    """
    if kind not in CHAIN_KINDS:
        raise invalid(f"unknown chain {kind!r}")
    if actor is not None and (not isinstance(actor, str) or len(actor) > MAX_ACTOR_LENGTH):
        raise invalid(f"actor must be a string of at most {MAX_ACTOR_LENGTH} characters")
    if retention_ms is not None:
        if kind == "rotation":
            raise invalid("retention_ms applies to the cleanup chains only")
        check_duration_ms("retention_ms", retention_ms)
    lease = lease_for(kind)
    link = Link.first(actor, retention_ms)
    try:
        if not lease.claim(link.holder):
            return False
        try:
            send_link(kind, link)
        except BaseException:
            # Free the lease at once rather than leave a chain with no message
            # that would block every trigger until the lease lapses.
            lease.release(link.holder)
            raise
    except redis.RedisError as error:
        raise _unavailable(kind, error) from None
    log.info("chain started", extra={"chain": kind, "chain_id": _chain_id(link)})
    return True


def is_running(kind: ChainKind) -> bool:
    """Whether a chain of ``kind`` holds its lease (it may be between two links)."""
    if kind not in CHAIN_KINDS:
        raise invalid(f"unknown chain {kind!r}")
    try:
        return lease_for(kind).is_held()
    except redis.RedisError as error:
        raise _unavailable(kind, error) from None


async def start_chain_async(
    kind: ChainKind, *, actor: str | None = None, retention_ms: int | None = None
) -> bool:
    """:func:`start_chain` in a thread, so an event loop is not held up by Redis."""
    return await asyncio.to_thread(start_chain, kind, actor=actor, retention_ms=retention_ms)


async def is_running_async(kind: ChainKind) -> bool:
    return await asyncio.to_thread(is_running, kind)


def send_link(kind: ChainKind, link: Link) -> None:
    installed().broker.enqueue(
        dramatiq.Message(
            queue_name=QUEUE_NAME,
            actor_name=LINK_ACTORS[kind],
            args=(),
            kwargs=link.as_kwargs(),
            options={},
        )
    )


def run_link(kind: ChainKind, link: Link, batch: Batch) -> None:
    """One link of a chain: enter the lease, run batches, then hand on or finish.

    Runs on a Dramatiq worker thread; the batches run on the AsyncIO
    middleware's event loop, where the database pool lives. Each batch is its
    own transaction; the link runs them back to back until the work is done or
    its time budget is spent, then renews the lease and enqueues the next link.
    The budget is far below the lease's lifetime, so the lease cannot lapse
    between two batches of one link and is renewed once per link. Redis and
    database errors propagate, so Dramatiq retries the link with backoff; the
    retried link still holds the lease and runs again.
    """
    lease = lease_for(kind)
    if not lease.hold(link.holder, after=link.predecessor):
        _log_superseded(kind, link)
        return
    budget_s = installed().config.link_budget_ms / 1000
    try:
        report = _run_on_loop(_run_batches(kind, link, batch, budget_s))
    except SecretStoreError as error:
        if error.code != "unavailable":
            # A domain error (bad key configuration, bad retention) fails the
            # same way on every retry: end the chain so a fixed configuration
            # can start a new one at once.
            lease.release(link.holder)
            log.error(
                "chain stopped by an error",
                extra={"chain": kind, "chain_id": _chain_id(link), "code": error.code},
            )
        raise
    if report.is_done:
        lease.release(link.holder)
        log.info(
            "chain finished",
            extra={"chain": kind, "chain_id": _chain_id(link), "links": link.step + 1},
        )
    elif lease.hold(link.holder):
        # Renewed: the lease now lasts through the queue to the next link,
        # which takes it over from this one.
        send_link(kind, link.following())
    else:
        _log_superseded(kind, link)


async def _run_batches(kind: ChainKind, link: Link, batch: Batch, budget_s: float) -> BatchReport:
    """Batches back to back on the event loop, one log line each, until done or out of budget."""
    link_started = time.monotonic()
    while True:
        started = time.monotonic()
        report = await batch(link)
        log.info(
            f"{kind} batch",
            extra={
                "chain": kind,
                "chain_id": _chain_id(link),
                "step": link.step,
                **report.counts,
                "done": report.is_done,
                "duration_ms": round((time.monotonic() - started) * 1000),
            },
        )
        if report.is_done or time.monotonic() - link_started >= budget_s:
            return report


def _log_superseded(kind: ChainKind, link: Link) -> None:
    # Another chain, or another copy of this step, owns the work now.
    log.info(
        "chain link superseded",
        extra={"chain": kind, "chain_id": _chain_id(link), "step": link.step},
    )


def _run_on_loop(work: Coroutine[Any, Any, BatchReport]) -> BatchReport:
    loop_thread = get_event_loop_thread()
    if loop_thread is None:
        work.close()
        raise RuntimeError("chain links need Dramatiq's AsyncIO middleware")
    return loop_thread.run_coroutine(work)


def _chain_id(link: Link) -> str:
    # Enough of the token to tell chains apart in the logs.
    return link.lease_token[:8]


def _unavailable(kind: ChainKind, error: redis.RedisError) -> SecretStoreError:
    log.warning("broker unreachable", extra={"chain": kind, "error": type(error).__name__})
    return SecretStoreError(
        "unavailable",
        f"Redis (the broker) cannot be reached: the {kind} chain cannot be started or checked",
    )
