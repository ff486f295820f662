"""The worker's and the scheduler's own settings, read from the environment here only.

``REDIS_URL``, ``DATABASE_URL`` and the batch sizes come from
:class:`core.settings.Settings`; this module adds what only the queue side needs.
Every problem is ``SecretStoreError("invalid_argument", ...)`` naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import SecretStoreError

PREFIX_VAR = "SECRET_STORE_REDIS_PREFIX"
LEASE_TTL_VAR = "SECRET_STORE_LEASE_TTL_MS"
TIME_LIMIT_VAR = "SECRET_STORE_LINK_TIME_LIMIT_MS"
HEARTBEAT_VAR = "SECRET_STORE_BROKER_HEARTBEAT_MS"
MAINTENANCE_VAR = "SECRET_STORE_BROKER_MAINTENANCE_CHANCE"
POLL_VAR = "SECRET_STORE_BROKER_POLL_MS"
LINK_BUDGET_VAR = "SECRET_STORE_LINK_BUDGET_MS"
CLEANUP_CRON_VAR = "SECRET_STORE_CLEANUP_CRON"
ROTATION_CRON_VAR = "SECRET_STORE_ROTATION_CRON"
WATCHDOG_VAR = "SECRET_STORE_WATCHDOG_SECONDS"

_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# Dramatiq's maintenance chance is counted per million broker commands.
_MAINTENANCE_SCALE = 1_000_000


def _invalid(message: str) -> SecretStoreError:
    return SecretStoreError("invalid_argument", message)


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < minimum:
        raise _invalid(f"{name} must be an integer of at least {minimum}")
    return int(text)


@dataclass(frozen=True)
class WorkerConfig:
    # Every Redis key of this deployment starts with it: the chain leases, the
    # scheduler's leader lock and Dramatiq's queues.
    redis_prefix: str = "secretstore"
    # How long a lease outlives its last renewal. It must exceed the link time
    # limit, so that a live link never loses its chain in the middle of a batch.
    lease_ttl_ms: int = 180_000
    link_time_limit_ms: int = 120_000
    # After this long without a heartbeat a worker counts as dead and its unacked
    # links are requeued (by Dramatiq's queue maintenance, which runs on a random
    # maintenance_chance per million broker commands).
    heartbeat_timeout_ms: int = 60_000
    maintenance_chance: int = 1_000
    # The longest an idle worker waits between two polls of its queue. Each link
    # waits for one poll, so this bounds the pause between two batches.
    poll_ms: int = 100
    # A link runs batches back to back (each its own transaction) for up to this
    # long before it hands on to the next link: the queue's cost per link (lease
    # round trips, enqueue, ack, the next poll) is paid once per budget instead
    # of once per batch. A killed link still loses only its current batch.
    link_budget_ms: int = 1_000
    cleanup_cron: str = "30 3 * * *"
    rotation_cron: str = "0 4 * * *"
    # 0 turns the watchdog off.
    watchdog_seconds: int = 60

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkerConfig:
        env = os.environ if environ is None else environ
        defaults = cls()
        prefix = env.get(PREFIX_VAR, "").strip() or defaults.redis_prefix
        if not _PREFIX.fullmatch(prefix):
            raise _invalid(
                f"{PREFIX_VAR} must be 1-64 characters from A-Z a-z 0-9 . _ : -,"
                " starting with a letter or digit"
            )
        config = cls(
            redis_prefix=prefix,
            lease_ttl_ms=_int(env, LEASE_TTL_VAR, defaults.lease_ttl_ms),
            link_time_limit_ms=_int(env, TIME_LIMIT_VAR, defaults.link_time_limit_ms),
            heartbeat_timeout_ms=_int(env, HEARTBEAT_VAR, defaults.heartbeat_timeout_ms),
            maintenance_chance=_int(env, MAINTENANCE_VAR, defaults.maintenance_chance, minimum=0),
            poll_ms=_int(env, POLL_VAR, defaults.poll_ms, minimum=5),
            link_budget_ms=_int(env, LINK_BUDGET_VAR, defaults.link_budget_ms, minimum=0),
            cleanup_cron=env.get(CLEANUP_CRON_VAR, "").strip() or defaults.cleanup_cron,
            rotation_cron=env.get(ROTATION_CRON_VAR, "").strip() or defaults.rotation_cron,
            watchdog_seconds=_int(env, WATCHDOG_VAR, defaults.watchdog_seconds, minimum=0),
        )
        if config.lease_ttl_ms <= config.link_time_limit_ms:
            raise _invalid(f"{LEASE_TTL_VAR} must be greater than {TIME_LIMIT_VAR}")
        if config.link_budget_ms * 2 > config.link_time_limit_ms:
            raise _invalid(f"{LINK_BUDGET_VAR} must be at most half of {TIME_LIMIT_VAR}")
        if config.maintenance_chance > _MAINTENANCE_SCALE:
            raise _invalid(f"{MAINTENANCE_VAR} must be at most {_MAINTENANCE_SCALE}")
        return config

    def key(self, *parts: str) -> str:
        """A Redis key in this deployment's namespace."""
        return ":".join((self.redis_prefix, *parts))
