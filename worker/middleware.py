"""The worker's middleware: Dramatiq's defaults, the retry policy, the database pool, logs."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.asyncio import EventLoopThread, get_event_loop_thread, set_event_loop_thread
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Callbacks,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from core import db
from core.errors import SecretStoreError
from core.logs import configure_logging
from core.settings import Settings

# A link that fails for a passing reason (PostgreSQL restarting, Redis failing
# over, a time limit hit under load) is retried with exponential backoff from
# one second up to a minute, for several minutes in all. Past that the chain is
# left to the scheduler's watchdog, which restarts it once its lease lapses.
MAX_RETRIES = 12
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 60_000


def should_retry(retries: int, exception: BaseException) -> bool:
    """Retry passing failures; never a domain error, which would fail the same way again."""
    if isinstance(exception, SecretStoreError) and exception.code != "unavailable":
        return False
    return retries < MAX_RETRIES


class DaemonAsyncIO(AsyncIO):
    """Dramatiq's AsyncIO middleware, with its event loop on a daemon thread.

    A process manager that signals the whole process group (honcho, systemd,
    most platforms) sends Dramatiq's worker process a second SIGTERM, relayed
    by its main process, and Dramatiq answers the second one with an immediate
    exit. Python then waits for every non-daemon thread, and Dramatiq's loop
    thread never ends, so the worker would hang until it is killed. An
    interrupted link loses nothing either way: its transaction rolls back and
    its message, never acknowledged, is delivered again.
    """

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        loop_thread = EventLoopThread(self.logger)
        loop_thread.daemon = True
        loop_thread.start(timeout=1.0)
        set_event_loop_thread(loop_thread)


class StructuredLogs(Middleware):
    """JSON log lines from each worker process, like every other process of the store."""

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        configure_logging()


class DatabasePool(Middleware):
    """Opens core's PostgreSQL pool on the event loop that runs the batches.

    asyncpg connections belong to the loop that made them, so the pool is opened
    on the AsyncIO middleware's loop, which that middleware (earlier in the
    stack) starts in its own ``before_worker_boot``. Opening it there too, and
    not after boot, matters: the worker threads take messages as soon as they
    start, and a batch that began without the pool would hand its connection
    back to a pool that never lent it. ``min_size=0`` lets a worker boot while
    the database is down; batches then fail and are retried.
    """

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        url = Settings.from_env().database_url
        if not url:
            raise SecretStoreError("unavailable", "DATABASE_URL is not set")
        db.configure_database(url)
        _run_on_loop(db.open_pool(min_size=0, max_size=max(2, worker.worker_threads)))

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        _run_on_loop(db.close_pool())


def _run_on_loop(coroutine: Any) -> None:
    loop_thread = get_event_loop_thread()
    if loop_thread is None:
        coroutine.close()
        raise RuntimeError("the AsyncIO middleware must come before DatabasePool")
    loop_thread.run_coroutine(coroutine)


def middleware_stack(*, time_limit_ms: int) -> list[Middleware]:
    """Dramatiq's default middleware, with this project's retry policy and the loop and pool."""
    return [
        AgeLimit(),
        TimeLimit(time_limit=time_limit_ms),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(
            min_backoff=MIN_BACKOFF_MS,
            max_backoff=MAX_BACKOFF_MS,
            retry_when=should_retry,
        ),
        DaemonAsyncIO(),
        DatabasePool(),
        StructuredLogs(),
    ]
