"""Keeping the audit sealer running: the scheduler's seal watch.

The sealer is the ``seal`` chain (``worker.actors.seal_link``). It ends when a
batch finds nothing to seal, so something must start it again when events
wait: the scheduler calls :func:`ensure_sealing` every
``SECRET_STORE_SEAL_WATCH_SECONDS``. The check is one indexed query and, only
when a chain is needed, one Redis ``SET NX``, so a short cadence costs little.
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
    if not await audit_chain.has_unsealed():
        return False
    if await is_running_async("seal"):
        return False
    started = await start_chain_async("seal")
    if started:
        log.info("seal chain started by the scheduler")
    return started
