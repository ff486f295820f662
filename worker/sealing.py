"""Keeping the audit sealer running: the scheduler's seal watch.

The sealer is the ``seal`` chain (``worker.actors.seal_link``). It ends when a
batch finds nothing to seal, so something must start it again when events
wait: the scheduler calls :func:`ensure_sealing` every
``SECRET_STORE_SEAL_WATCH_SECONDS``. The check is one Redis ``EXISTS`` and, only when
no sealer runs, one indexed query, so a short cadence costs little.
A sealer whose worker died holds its lease until the lease lapses; the next
watch after that starts a new one.
"""

from __future__ import annotations

import logging

from core import audit_chain
from worker.chains import is_running_async, start_chain_async

log = logging.getLogger("secretstore.scheduler")


async def ensure_sealing() -> bool:
    """Start the sealer if events wait unsealed and none runs; ``True`` when one started."""
    # Redis first: while a sealer runs (always, under load) no database
    # connection is opened at all.
    if await is_running_async("seal"):
        return False
    if not await audit_chain.has_unsealed():
        return False
    started = await start_chain_async("seal")
    if started:
        log.info("seal chain started by the scheduler")
    return started
