"""The chain actors: ``dramatiq worker.actors`` runs them.

Each actor is one link of its chain and calls exactly one core batch through
:func:`worker.chains.run_link`, which owns the lease and the hand-on to the next
link. Messages carry the lease token, the step, the link's id, the acting token id
and the retention: plain values, so a link can be retried or redelivered as it is.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import dramatiq

from core import audit_chain
from core.runtime import Runtime, build_runtime
from core.settings import BatchSettings
from worker.broker import installed
from worker.chains import LINK_ACTORS, QUEUE_NAME, BatchReport, Link, run_link

# Installs the broker (as setup_broker does) before any actor is declared on it.
_setup = installed()

_LINK_OPTIONS: dict[str, Any] = {
    "broker": _setup.broker,
    "queue_name": QUEUE_NAME,
    "time_limit": _setup.config.link_time_limit_ms,
}


SEAL_BATCH = 1000
# Between two batches of a sealer that caught up: the lag it adds under load.
SEAL_PAUSE_S = 0.5


@cache
def runtime() -> Runtime:
    """The store of this worker process, built once from its environment."""
    return build_runtime()


@cache
def batches() -> BatchSettings:
    return runtime().settings.batches


@dramatiq.actor(actor_name=LINK_ACTORS["rotation"], **_LINK_OPTIONS)
def rotation_link(
    lease_token: str,
    step: int,
    link_id: str,
    actor: str | None = None,
    retention_ms: int | None = None,
) -> None:
    run_link("rotation", Link(lease_token, step, link_id, actor, retention_ms), rotate)


@dramatiq.actor(actor_name=LINK_ACTORS["cleanup_secrets"], **_LINK_OPTIONS)
def cleanup_secrets_link(
    lease_token: str,
    step: int,
    link_id: str,
    actor: str | None = None,
    retention_ms: int | None = None,
) -> None:
    run_link(
        "cleanup_secrets", Link(lease_token, step, link_id, actor, retention_ms), clean_secrets
    )


@dramatiq.actor(actor_name=LINK_ACTORS["cleanup_events"], **_LINK_OPTIONS)
def cleanup_events_link(
    lease_token: str,
    step: int,
    link_id: str,
    actor: str | None = None,
    retention_ms: int | None = None,
) -> None:
    run_link("cleanup_events", Link(lease_token, step, link_id, actor, retention_ms), clean_events)


@dramatiq.actor(actor_name=LINK_ACTORS["seal"], **_LINK_OPTIONS)
def seal_link(
    lease_token: str,
    step: int,
    link_id: str,
    actor: str | None = None,
    retention_ms: int | None = None,
) -> None:
    run_link("seal", Link(lease_token, step, link_id, actor, retention_ms), seal)


async def rotate(link: Link) -> BatchReport:
    current = runtime()
    batch = await current.store.rotate_batch(batches().rotation_batch_size, actor=link.actor)
    return BatchReport(batch.is_done, {"rotated": batch.rotated, "skipped": batch.skipped})


async def clean_secrets(link: Link) -> BatchReport:
    current = runtime()
    batch = await current.store.cleanup_secrets_batch(
        link.retention_ms, batches().cleanup_batch_size, actor=link.actor
    )
    return BatchReport(batch.is_done, {"deleted": batch.deleted, "purged": batch.purged})


async def clean_events(link: Link) -> BatchReport:
    current = runtime()
    batch = await current.store.cleanup_events_batch(
        link.retention_ms, batches().cleanup_batch_size
    )
    return BatchReport(batch.is_done, {"deleted": batch.deleted})


async def seal(link: Link) -> BatchReport:
    """One batch of the audit sealer (core.audit_chain.seal_batch).

    The sealer goes on while writes keep arriving: a batch that caught up
    pauses a moment instead of ending the chain, so events are sealed within
    about a pause of their commit without a start per batch; it ends on the
    first batch that found nothing, and the scheduler starts it again when
    events wait.
    """
    store = runtime().store
    batch = await audit_chain.seal_batch(store.keyring(), store.clock(), SEAL_BATCH)
    if batch.is_done and batch.sealed > 0:
        # The pause is taken outside the batch's transaction (run_fenced_batches).
        return BatchReport(
            False, {"sealed": batch.sealed, "last_seq": batch.last_seq}, pause_s=SEAL_PAUSE_S
        )
    return BatchReport(batch.is_done, {"sealed": batch.sealed, "last_seq": batch.last_seq})
