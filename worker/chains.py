"""Chains: rotation and cleanup as sequences of messages, one batch per message.

Default path: :func:`start_chain` claims the chain's lease and sends its first
link; each link (:func:`run_link`, called by the actors in ``worker.actors``)
enters the lease, runs one core batch in one transaction, and only after that
commits and only if the batch was not the last sends the next link. The chain
stops by itself when a batch reports it is done, which core decides: a batch
that claimed fewer rows than its limit. Orphans and rows whose KEK no longer
unwraps them are never claimed again, so a store holding only those ends the
chain after one batch instead of spinning.

Caveats (docs/adr/0011 for why):

- At most one chain of each kind runs. The chain's lease (:mod:`worker.lease`)
  names the link that holds it, ``<token>:<step>:<link id>``: the token is drawn
  when the chain starts and every message carries it with its step and an id
  of its own. A link may run when it holds the lease already (it is being
  retried or redelivered), when the link before it (``<token>:<step - 1>:``)
  holds it, or when the lease lapsed and the work still belongs to its chain
  (the lease's work hash names the token). Anything else means another chain,
  or another copy of this step, owns the work, and the link stops. A trigger
  while a chain runs joins it and gets ``False``; its ``retention_ms`` is not
  used, the running chain keeps its own.
- The lease is short (6 s) and a heartbeat thread renews it while a link runs,
  so a dead or paused worker loses it within seconds; the scheduler then
  resumes the work as a new chain (:func:`resume_chain`). Whatever a lapsed
  lease lets happen, the fence in the database keeps a superseded link from
  writing: every link takes the next fence number of its kind, and every batch
  passes the fence in its own transaction.
- A link killed mid-batch loses nothing: its transaction rolls back. Rows are
  claimed ``FOR UPDATE SKIP LOCKED`` and rewrapped in the claiming
  transaction, so no row is rewrapped twice however often a link runs.
- With Redis unreachable, :func:`start_chain` and :func:`is_running` raise
  ``SecretStoreError("unavailable")`` within about two seconds.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
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
from worker.fence import Fence, Fenced
from worker.lease import ChainLease, Heartbeat

log = logging.getLogger("secretstore.worker")

ChainKind = Literal["rotation", "cleanup_secrets", "cleanup_events", "seal"]
CHAIN_KINDS: tuple[ChainKind, ...] = get_args(ChainKind)
ChainState = Literal["running", "resuming", "idle"]

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
    # A wait before the next batch, taken after the batch's transaction has
    # committed (a sealer that caught up waits for more events).
    pause_s: float = 0.0


Batch = Callable[[Link], Awaitable[BatchReport]]


@cache
def lease_for(kind: ChainKind) -> ChainLease:
    setup = installed()
    return ChainLease(
        setup.client, setup.config.key("chain", kind, "lease"), setup.config.lease_ttl_ms
    )


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
        if not lease.claim_work(link.holder, _work_of(link)):
            return False
        _send_or_release(kind, link)
    except redis.RedisError as error:
        raise _unavailable(kind, error) from None
    log.info("chain started", extra={"chain": kind, "chain_id": _chain_id(link)})
    return True


def resume_chain(kind: ChainKind) -> bool:
    """Carry on the work of a chain whose lease lapsed (its worker died); ``True`` if resumed.

    The new chain has a token of its own and the actor and retention of the
    one it replaces, whose links, should they come back, find the work taken.
    """
    lease = lease_for(kind)
    try:
        work = lease.work()
        if not work or lease.is_held():
            return False
        link = Link.first(work.get("actor"), _int_or_none(work.get("retention_ms")))
        if not lease.resume(link.holder, token=work["token"], new_token=link.lease_token):
            return False
        _send_or_release(kind, link)
    except redis.RedisError as error:
        raise _unavailable(kind, error) from None
    log.info(
        "chain resumed",
        extra={"chain": kind, "chain_id": _chain_id(link), "after": work["token"][:8]},
    )
    return True


def chain_state(kind: ChainKind) -> ChainState:
    """``running`` while a live link holds the lease (or hands it on); ``resuming``
    when the lease lapsed with work left, which the scheduler resumes; else ``idle``."""
    if kind not in CHAIN_KINDS:
        raise invalid(f"unknown chain {kind!r}")
    lease = lease_for(kind)
    try:
        if lease.is_held():
            return "running"
        return "resuming" if lease.work() else "idle"
    except redis.RedisError as error:
        raise _unavailable(kind, error) from None


def is_running(kind: ChainKind) -> bool:
    """Whether a live chain of ``kind`` holds its lease (it may be between two links)."""
    return chain_state(kind) == "running"


async def start_chain_async(
    kind: ChainKind, *, actor: str | None = None, retention_ms: int | None = None
) -> bool:
    """:func:`start_chain` in a thread, so an event loop is not held up by Redis."""
    return await asyncio.to_thread(start_chain, kind, actor=actor, retention_ms=retention_ms)


async def is_running_async(kind: ChainKind) -> bool:
    return await asyncio.to_thread(is_running, kind)


async def chain_state_async(kind: ChainKind) -> ChainState:
    return await asyncio.to_thread(chain_state, kind)


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
    """One link of a chain: enter the lease, take the fence, run batches, hand on or finish.

    Runs on a Dramatiq worker thread; the batches run on the AsyncIO
    middleware's event loop, where the database pool lives. While the link
    runs, a heartbeat thread renews its lease. Each batch is its own
    transaction and first passes the fence, so a link superseded while it was
    paused writes nothing. The link runs batches back to back until the work
    is done or its time budget is spent, then renews the lease and enqueues
    the next link. Redis and database errors propagate, so Dramatiq retries
    the link with backoff; the retried link enters again if its chain still
    owns the work.
    """
    lease = lease_for(kind)
    if not lease.enter(link.holder, after=link.predecessor, token=link.lease_token):
        _log_superseded(kind, link)
        return
    config = installed().config
    try:
        with Heartbeat(lease, link.holder, config.lease_renew_ms) as heartbeat:
            report = _run_on_loop(
                _run_batches(kind, link, batch, config.link_budget_ms / 1000, heartbeat.lost)
            )
    except Fenced:
        _log_superseded(kind, link, fenced=True)
        return
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
    elif lease.enter(link.holder, after=None, token=link.lease_token):
        # Renewed: the lease now lasts through the queue to the next link,
        # which takes it over from this one.
        send_link(kind, link.following())
    else:
        _log_superseded(kind, link)


async def _run_batches(
    kind: ChainKind,
    link: Link,
    batch: Batch,
    budget_s: float,
    lost: threading.Event,
) -> BatchReport:
    lease = lease_for(kind)

    async def holds_lease() -> bool:
        return await asyncio.to_thread(lease.renew, link.holder)

    fence = Fence(kind, holds_lease, idle_timeout_ms=installed().config.lease_ttl_ms)
    return await run_fenced_batches(kind, link, batch, fence=fence, budget_s=budget_s, lost=lost)


async def run_fenced_batches(
    kind: ChainKind,
    link: Link,
    batch: Batch,
    *,
    fence: Fence,
    budget_s: float,
    lost: threading.Event,
) -> BatchReport:
    """Batches back to back on the event loop, one log line each, until done or out of budget.

    Each batch is one transaction past ``fence`` (:mod:`worker.fence`), which
    raises :class:`Fenced`, with nothing written, once another link took the
    kind over. Stops early, without running another batch, once the heartbeat
    lost the lease.
    """
    link_started = time.monotonic()
    while True:
        started = time.monotonic()
        report = await fence.run(lambda: batch(link))
        log.info(
            f"{kind} batch",
            extra={
                "chain": kind,
                "chain_id": _chain_id(link),
                "step": link.step,
                "fence": fence.number,
                **report.counts,
                "done": report.is_done,
                "duration_ms": round((time.monotonic() - started) * 1000),
            },
        )
        if report.pause_s:
            await asyncio.sleep(report.pause_s)
        if report.is_done or lost.is_set() or time.monotonic() - link_started >= budget_s:
            return report


def _log_superseded(kind: ChainKind, link: Link, *, fenced: bool = False) -> None:
    # Another chain, or another copy of this step, owns the work now.
    log.info(
        "chain link fenced off" if fenced else "chain link superseded",
        extra={"chain": kind, "chain_id": _chain_id(link), "step": link.step},
    )


def _work_of(link: Link) -> dict[str, str]:
    """What the lease's work hash records of a chain, to resume it as it was started."""
    work = {"token": link.lease_token}
    if link.actor is not None:
        work["actor"] = link.actor
    if link.retention_ms is not None:
        work["retention_ms"] = str(link.retention_ms)
    return work


def _int_or_none(text: str | None) -> int | None:
    return None if text is None else int(text)


def _send_or_release(kind: ChainKind, link: Link) -> None:
    try:
        send_link(kind, link)
    except BaseException:
        # Free the lease at once rather than leave a chain with no message
        # that would block every trigger until the lease lapses.
        lease_for(kind).release(link.holder)
        raise


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
