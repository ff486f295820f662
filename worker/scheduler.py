"""The scheduler process: ``python -m worker.scheduler``.

Dramatiq has no cron by design, so the periodic triggers run here, in an
APScheduler process of their own:

- the daily cleanup (``SECRET_STORE_CLEANUP_CRON``) starts both cleanup chains
  with their default retentions;
- the daily rotation safety net (``SECRET_STORE_ROTATION_CRON``) and the
  watchdog (every ``SECRET_STORE_WATCHDOG_SECONDS``) start a rotation chain
  when no chain holds the rotation lease and rewrappable rows remain (keys
  changed and nobody started a rotation);
- the resume job, every third of the chain lease's lifetime (2 s by default),
  resumes each chain whose lease lapsed with its work unfinished: its worker
  died or was cut off. It only reads Redis, so it costs nothing while idle.

Cron expressions have five fields and are read in UTC. APScheduler 3 numbers
weekdays from Monday = 0, unlike crontab: name the days (``mon-fri``) instead.

Only the leader acts. Every job first holds or renews a lock in Redis, so two
scheduler processes (a rolling deploy, a second machine) trigger each job once
and a follower takes over within ``LEADER_TTL_MS`` when the leader dies. The
chains are singletons anyway; the lock keeps the logs and the queue quiet.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

import redis
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.db import configure_database
from core.errors import SecretStoreError
from core.logs import configure_logging
from core.runtime import Runtime, Store, build_runtime
from core.settings import SchedulerSettings
from worker.broker import installed
from worker.chains import (
    CHAIN_KINDS,
    is_running_async,
    resume_chain,
    start_chain,
    start_chain_async,
)
from worker.lease import Lease
from worker.sealing import ensure_sealing

log = logging.getLogger("secretstore.scheduler")

# The actor recorded on the audit events of the chains the scheduler starts.
SCHEDULER_ACTOR = "scheduler"
LEADER_TTL_MS = 30_000
LEADER_RENEW_SECONDS = 10


class Leadership:
    """The scheduler's leader lock: a lease that its holder renews and anyone may
    take once it lapses."""

    def __init__(self, lease: Lease) -> None:
        self._lease = lease
        self._token = secrets.token_hex(16)
        self.leading = False
        # Jobs run on the scheduler's thread pool, and several start together.
        self._lock = threading.Lock()

    def hold(self) -> bool:
        """Take or renew the lock; ``False`` while another scheduler holds it."""
        with self._lock:
            leading = self._lease.hold(self._token)
            if leading != self.leading:
                log.info("scheduler leadership " + ("taken" if leading else "lost"))
                self.leading = leading
            return leading

    def resign(self) -> None:
        self._lease.release(self._token)


async def rotation_needed(store: Store) -> bool:
    """Whether rows remain that a rotation would rewrap (orphans and unrewrappable rows never)."""
    status = await store.rotation_status()
    return status.rewrappable > 0


async def ensure_rotation(store: Store, *, actor: str | None = SCHEDULER_ACTOR) -> bool:
    """Start a rotation chain if none runs and work remains; ``True`` when one started."""
    if await is_running_async("rotation"):
        return False
    if not await rotation_needed(store):
        return False
    started = await start_chain_async("rotation", actor=actor)
    if started:
        log.info("rotation chain started by the scheduler")
    return started


def start_cleanup() -> None:
    """Start (or join) both cleanup chains with their default retentions."""
    for kind in ("cleanup_secrets", "cleanup_events"):
        start_chain(kind, actor=SCHEDULER_ACTOR)


def resume_chains() -> None:
    """Resume every chain whose lease lapsed with work left."""
    for kind in CHAIN_KINDS:
        resume_chain(kind)


def build_scheduler(
    config: SchedulerSettings, runtime: Runtime, leadership: Leadership, *, resume_ms: int
) -> BlockingScheduler:
    def guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                if not leadership.hold():
                    return
                job()
            except SecretStoreError as error:
                log.warning("scheduled job failed", extra={"job": name, "code": error.code})
            except redis.RedisError as error:
                log.warning(
                    "scheduled job failed: Redis unreachable",
                    extra={"job": name, "error": type(error).__name__},
                )
            except Exception:
                log.exception("scheduled job failed", extra={"job": name})

        return run

    def rotation() -> None:
        asyncio.run(ensure_rotation(runtime.store))

    scheduler = BlockingScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    scheduler.add_job(
        guarded("cleanup", start_cleanup),
        CronTrigger.from_crontab(config.cleanup_cron, timezone="UTC"),
        id="cleanup",
        name="cleanup",
    )
    scheduler.add_job(
        guarded("rotation", rotation),
        CronTrigger.from_crontab(config.rotation_cron, timezone="UTC"),
        id="rotation",
        name="rotation",
    )
    if config.watchdog_seconds > 0:
        scheduler.add_job(
            guarded("watchdog", rotation),
            IntervalTrigger(seconds=config.watchdog_seconds),
            id="watchdog",
            name="watchdog",
            next_run_time=datetime.now(UTC),
        )
    if config.seal_watch_seconds > 0:
        scheduler.add_job(
            guarded("seal", lambda: asyncio.run(ensure_sealing())),
            IntervalTrigger(seconds=config.seal_watch_seconds),
            id="seal",
            name="seal",
            next_run_time=datetime.now(UTC),
        )
    scheduler.add_job(
        guarded("resume", resume_chains),
        IntervalTrigger(seconds=resume_ms / 1000),
        id="resume",
        name="resume",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        guarded("leadership", lambda: None),  # holding the lock is the whole job
        IntervalTrigger(seconds=LEADER_RENEW_SECONDS),
        id="leadership",
        name="leadership",
        next_run_time=datetime.now(UTC),
    )
    return scheduler


def main() -> None:
    configure_logging()
    # The jobs log their own outcomes and "scheduler running" names the cadences;
    # APScheduler's lines for every job added and run would only repeat them.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        runtime = build_runtime()
        config = runtime.settings.scheduler
        if not runtime.settings.database_url:
            raise SecretStoreError("unavailable", "DATABASE_URL is not set")
        # No pool: the watchdog's one query a minute opens a connection of its own.
        configure_database(runtime.settings.database_url)
        setup = installed()
        leadership = Leadership(
            Lease(setup.client, setup.config.key("scheduler", "leader"), LEADER_TTL_MS)
        )
        scheduler = build_scheduler(
            config, runtime, leadership, resume_ms=setup.config.resume_check_ms
        )
    except SecretStoreError as error:
        log.error("scheduler cannot start", extra={"code": error.code, "reason": error.message})
        raise SystemExit(2) from None

    def stop(signum: int, frame: FrameType | None) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "scheduler running",
        extra={
            "cleanup_cron": config.cleanup_cron,
            "rotation_cron": config.rotation_cron,
            "watchdog_seconds": config.watchdog_seconds,
            "resume_ms": setup.config.resume_check_ms,
        },
    )
    try:
        scheduler.start()
    finally:
        try:
            leadership.resign()
        except Exception:
            log.warning("scheduler could not release its leader lock")


if __name__ == "__main__":
    main()
