"""``secretstore check-config``: is this environment fit to run the Procfile's processes?

Each check yields one line, ``ok`` or ``FAIL``, with a detail that names
versions, settings and hosts but never a key, a token or a password: the
output is meant to be pasted into tickets and CI logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import asyncpg
import redis

from cli.output import describe, redact_url
from core.errors import SecretStoreError
from core.keys import keyring_of
from core.settings import (
    DATABASE_URL_VAR,
    DEFAULT_TTL_VAR,
    KEYS_FILE_VAR,
    KEYS_VAR,
    REDIS_URL_VAR,
    SESSION_SECRET_VAR,
    Settings,
)

CONNECT_TIMEOUT = 5.0
TABLES = ("secrets", "audit_events", "api_tokens")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAIL':<5} {self.name}: {self.detail}"


def run_checks(environ: Mapping[str, str]) -> list[Check]:
    checks: list[tuple[str, Callable[[Mapping[str, str]], str]]] = [
        ("keys", check_keys),
        ("default TTL", check_default_ttl),
        ("settings", check_settings),
        ("sessions", check_sessions),
        ("worker settings", check_worker_settings),
        ("database", check_database),
        ("redis", check_redis),
    ]
    results = []
    for name, check in checks:
        try:
            results.append(Check(name, True, check(environ)))
        except SecretStoreError as error:
            results.append(Check(name, False, error.message))
        except Exception as error:
            results.append(Check(name, False, describe(error)))
    return results


def check_keys(environ: Mapping[str, str]) -> str:
    config = Settings(environ).keys()
    ring = keyring_of(config)
    source = KEYS_VAR if config.text is not None else KEYS_FILE_VAR
    versions = ", ".join(str(v) for v in ring.versions)
    return f"{source}: versions {versions}; active version {ring.active_version}"


def check_default_ttl(environ: Mapping[str, str]) -> str:
    ttl_ms = Settings(environ).store.default_ttl_ms
    if ttl_ms is None:
        return f"{DEFAULT_TTL_VAR} not set: secrets put without ttl_ms never expire"
    return f"{ttl_ms} ms"


def check_settings(environ: Mapping[str, str]) -> str:
    # The default TTL has its own line; leaving it out here keeps one mistake
    # from being reported twice.
    settings = Settings({k: v for k, v in environ.items() if k != DEFAULT_TTL_VAR})
    web, batches, admin_token = settings.web, settings.batches, settings.store.admin_token
    # A bad LOG_LEVEL fails this line too, though a good one is not shown.
    settings.log_level  # noqa: B018
    admin = "set" if admin_token else "not set (tokens come from `secretstore token`)"
    return (
        f"PORT {web.port}, rotation batch {batches.rotation_batch_size}, "
        f"cleanup batch {batches.cleanup_batch_size}, bootstrap admin token {admin}"
    )


def check_sessions(environ: Mapping[str, str]) -> str:
    session = Settings(environ).session
    secret = "set" if session.secret else "not set (embedded: one per web process)"
    return (
        f"{SESSION_SECRET_VAR} {secret}; idle limit {session.idle_seconds} s,"
        f" lifetime {session.lifetime_seconds} s"
    )


def check_worker_settings(environ: Mapping[str, str]) -> str:
    settings = Settings(environ)
    chains, schedule = settings.chains, settings.scheduler
    return (
        f"Redis prefix {chains.redis_prefix!r}, cleanup cron {schedule.cleanup_cron!r}, "
        f"rotation cron {schedule.rotation_cron!r}, lease {chains.lease_ttl_ms} ms"
    )


def check_database(environ: Mapping[str, str]) -> str:
    url = Settings(environ).database_url
    if not url:
        raise SecretStoreError("unavailable", f"{DATABASE_URL_VAR} is not set")
    version, missing = asyncio.run(_probe_database(url))
    if missing:
        raise SecretStoreError(
            "unavailable",
            f"{redact_url(url)} answers (PostgreSQL {version}) but has no table "
            f"{', '.join(missing)}: run `secretstore migrate`",
        )
    return f"{redact_url(url)} (PostgreSQL {version}, migrated)"


async def _probe_database(url: str) -> tuple[str, list[str]]:
    connection = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT)
    try:
        version = await connection.fetchval("SHOW server_version")
        missing = [
            table
            for table in TABLES
            if await connection.fetchval("SELECT to_regclass($1)", f"public.{table}") is None
        ]
    finally:
        await connection.close()
    return str(version), missing


def check_redis(environ: Mapping[str, str]) -> str:
    url = Settings(environ).redis_url
    if not url:
        raise SecretStoreError("unavailable", f"{REDIS_URL_VAR} is not set")
    client = redis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
    )
    try:
        client.ping()
        version = client.info("server").get("redis_version", "?")
    finally:
        client.close()
    return f"{redact_url(url)} (Redis {version})"
