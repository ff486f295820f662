"""Live API tokens kept in process memory, exact on revocation through PostgreSQL.

Checking a token costs a database round trip on every request; the cache
answers from memory instead, and stays exact because every change that can
end a token reaches it:

- Revocation: :meth:`core.tokens.TokenService.revoke` sends a ``NOTIFY`` on
  :data:`CHANNEL` in the same statement as its ``UPDATE``, so the notice leaves
  when (and only when) the revocation commits, whichever process made it (web,
  dashboard, CLI). Every process with a started cache ``LISTEN``\\ s on its own
  connection and forgets the token when the notice arrives.
- Expiry: an entry keeps the token's ``expires_at``; the caller checks it on
  every use.
- Nothing else changes a stored token.

What keeps it exact when things go wrong:

- The cache answers only while its listening connection is up. When that
  connection drops (or fails its periodic check), every entry is dropped and
  every lookup goes to the database until a new connection is listening
  again; notices sent in between were lost, so the cache starts empty.
- A lookup that read the database before a notice arrived could otherwise
  store what it read after the notice evicted the token: every notice moves a
  generation counter, and :meth:`TokenCache.remember` refuses an entry read
  under an older generation.
- Unknown, revoked and expired tokens are never stored, so guessing fills
  nothing; the number of entries is bounded (least recently used go first).

A cache that was never started (the worker, the CLI) never answers: its
lookups all go to the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from core.access import Principal

CHANNEL = "secretstore_token_revoked"
# The listening connection's name in pg_stat_activity.
APPLICATION_NAME = "secretstore token cache"
DEFAULT_MAX_ENTRIES = 10_000
# How often the listening connection is checked, and how long it may take.
CHECK_INTERVAL_S = 5.0
CHECK_TIMEOUT_S = 2.0
RETRY_S = 1.0

log = logging.getLogger("secretstore.tokencache")

# core.db.connect: a connection outside the pool, given its application_name.
Connect = Callable[[str], Awaitable[asyncpg.Connection]]


@dataclass(frozen=True, slots=True)
class CachedToken:
    principal: Principal
    expires_at: datetime | None


class TokenCache:
    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        check_interval_s: float = CHECK_INTERVAL_S,
        retry_s: float = RETRY_S,
    ) -> None:
        self._entries: OrderedDict[str, CachedToken] = OrderedDict()
        self._digest_by_id: dict[str, str] = {}
        self._max_entries = max_entries
        self._check_interval_s = check_interval_s
        self._retry_s = retry_s
        self._generation = 0
        self._listening = False
        self._notified: dict[str, list[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._lost = asyncio.Event()

    # -- the cache ---------------------------------------------------------------

    @property
    def listening(self) -> bool:
        """Whether the cache answers (its listening connection is up)."""
        return self._listening

    @property
    def generation(self) -> int:
        """Read before a database lookup; pass to :meth:`remember` with its result."""
        return self._generation

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, digest: str) -> CachedToken | None:
        if not self._listening:
            return None
        entry = self._entries.get(digest)
        if entry is not None:
            self._entries.move_to_end(digest)
        return entry

    def remember(self, digest: str, entry: CachedToken, generation: int) -> None:
        """Keep a live token read from the database under ``generation``, if still current."""
        if not self._listening or generation != self._generation:
            return
        self._entries[digest] = entry
        self._entries.move_to_end(digest)
        self._digest_by_id[entry.principal.token_id] = digest
        while len(self._entries) > self._max_entries:
            _, dropped = self._entries.popitem(last=False)
            self._digest_by_id.pop(dropped.principal.token_id, None)

    def forget(self, token_id: str) -> None:
        """Drop one token (revoked or expired), and refuse lookups already under way."""
        self._generation += 1
        digest = self._digest_by_id.pop(token_id, None)
        if digest is not None:
            self._entries.pop(digest, None)

    def _forget_all(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._digest_by_id.clear()

    # -- revocation notices ----------------------------------------------------------

    def expect(self, token_id: str) -> asyncio.Event:
        """An event set when this process's listener receives the notice for ``token_id``."""
        event = asyncio.Event()
        self._notified.setdefault(token_id, []).append(event)
        return event

    def unexpect(self, token_id: str, event: asyncio.Event) -> None:
        waiting = self._notified.get(token_id, [])
        if event in waiting:
            waiting.remove(event)
        if not waiting:
            self._notified.pop(token_id, None)

    def _on_notice(self, _connection: object, _pid: int, _channel: str, payload: object) -> None:
        token_id = str(payload)
        self.forget(token_id)
        for event in self._notified.pop(token_id, []):
            event.set()

    # -- the listening connection ------------------------------------------------------

    def start(self, connect: Connect) -> None:
        """Listen in the background; the cache answers once the first connection listens."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._listen(connect))

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._stop_answering()

    def _stop_answering(self) -> None:
        self._listening = False
        self._forget_all()

    def _on_lost(self, _connection: object) -> None:
        self._stop_answering()
        self._lost.set()

    async def _listen(self, connect: Connect) -> None:
        while True:
            try:
                await self._listen_once(connect)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "token cache bypassed: its listening connection failed",
                    extra={"error": type(error).__name__},
                )
            finally:
                self._stop_answering()
                await self._close()
            await asyncio.sleep(self._retry_s)

    async def _listen_once(self, connect: Connect) -> None:
        # A new event each time: a cache stopped and started again may be on another loop.
        self._lost = asyncio.Event()
        self._connection = connection = await connect(APPLICATION_NAME)
        connection.add_termination_listener(self._on_lost)
        await connection.add_listener(CHANNEL, self._on_notice)
        # Notices sent before LISTEN took effect were not seen: start empty.
        self._forget_all()
        self._listening = True
        log.info("token cache listening", extra={"channel": CHANNEL})
        while not self._lost.is_set():
            try:
                await asyncio.wait_for(self._lost.wait(), self._check_interval_s)
            except TimeoutError:
                await connection.fetchval("SELECT 1", timeout=CHECK_TIMEOUT_S)
        raise ConnectionError("the listening connection closed")

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()
