"""Settings: every environment variable of the store is read in this one module.

``Settings.from_env()`` wraps the environment (``os.environ`` by default) and
parses each section the first time it is asked for, so a process pays for, and
can be broken by, only the settings it uses: a bad worker setting never stops
the web process from signing anyone in. Each section is a frozen dataclass::

    settings = Settings.from_env()
    settings.database_url               # every process
    settings.redis_url, settings.redis_prefix, settings.redis_key("dashboard", "sessions")
    settings.store                      # default TTL, bootstrap admin token
    settings.log_level
    settings.web                        # port, embedded flag
    settings.session                    # the dashboard's session secret and lifetimes
    settings.batches                    # rotation and cleanup batch sizes
    settings.chains                     # leases, link limits, the broker
    settings.scheduler                  # the crons and the watchdog
    settings.dev                        # what `secretstore dev` adds

Every problem is ``SecretStoreError("invalid_argument", ...)`` whose message
names the variable. :data:`VARIABLES` lists every variable read here; the
README's configuration table is checked against it.

The key configuration (``SECRET_STORE_KEYS`` or ``SECRET_STORE_KEYS_FILE``) is
the exception to parsing once: :meth:`Settings.keys` reads it again on every
call, because :class:`core.keys.KeyRingSource` picks up a key file replaced in
place without a restart, and a bad key string makes key-dependent operations
fail with ``invalid_keys`` instead of stopping the process.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from core.errors import SecretStoreError

DATABASE_URL_VAR = "DATABASE_URL"
REDIS_URL_VAR = "REDIS_URL"
KEYS_VAR = "SECRET_STORE_KEYS"
KEYS_FILE_VAR = "SECRET_STORE_KEYS_FILE"
DEFAULT_TTL_VAR = "SECRET_STORE_DEFAULT_TTL_MS"
ADMIN_TOKEN_VAR = "SECRET_STORE_ADMIN_TOKEN"  # noqa: S105 (a variable's name)
MAX_VERSIONS_VAR = "SECRET_STORE_MAX_VERSIONS"
RECOVERY_WINDOW_VAR = "SECRET_STORE_RECOVERY_WINDOW_MS"
PORT_VAR = "PORT"
HOST_VAR = "HOST"
DATA_DIR_VAR = "SECRET_STORE_DATA_DIR"
ROTATION_BATCH_VAR = "SECRET_STORE_ROTATION_BATCH"
CLEANUP_BATCH_VAR = "SECRET_STORE_CLEANUP_BATCH"
SESSION_SECRET_VAR = "SECRET_STORE_SESSION_SECRET"  # noqa: S105 (a variable's name)
SESSION_IDLE_VAR = "SECRET_STORE_SESSION_IDLE_SECONDS"
SESSION_LIFETIME_VAR = "SECRET_STORE_SESSION_LIFETIME_SECONDS"
EMBEDDED_VAR = "SECRET_STORE_EMBEDDED"
CLEANUP_CRON_VAR = "SECRET_STORE_CLEANUP_CRON"
ROTATION_CRON_VAR = "SECRET_STORE_ROTATION_CRON"
WATCHDOG_VAR = "SECRET_STORE_WATCHDOG_SECONDS"
SEAL_WATCH_VAR = "SECRET_STORE_SEAL_WATCH_SECONDS"
PREFIX_VAR = "SECRET_STORE_REDIS_PREFIX"
LEASE_TTL_VAR = "SECRET_STORE_LEASE_TTL_MS"
TIME_LIMIT_VAR = "SECRET_STORE_LINK_TIME_LIMIT_MS"
LINK_BUDGET_VAR = "SECRET_STORE_LINK_BUDGET_MS"
HEARTBEAT_VAR = "SECRET_STORE_BROKER_HEARTBEAT_MS"
MAINTENANCE_VAR = "SECRET_STORE_BROKER_MAINTENANCE_CHANCE"
POLL_VAR = "SECRET_STORE_BROKER_POLL_MS"
LOG_LEVEL_VAR = "LOG_LEVEL"

VARIABLES: tuple[str, ...] = (
    DATABASE_URL_VAR,
    REDIS_URL_VAR,
    KEYS_VAR,
    KEYS_FILE_VAR,
    DEFAULT_TTL_VAR,
    ADMIN_TOKEN_VAR,
    MAX_VERSIONS_VAR,
    RECOVERY_WINDOW_VAR,
    PORT_VAR,
    HOST_VAR,
    DATA_DIR_VAR,
    ROTATION_BATCH_VAR,
    CLEANUP_BATCH_VAR,
    SESSION_SECRET_VAR,
    SESSION_IDLE_VAR,
    SESSION_LIFETIME_VAR,
    CLEANUP_CRON_VAR,
    ROTATION_CRON_VAR,
    WATCHDOG_VAR,
    SEAL_WATCH_VAR,
    PREFIX_VAR,
    LEASE_TTL_VAR,
    TIME_LIMIT_VAR,
    LINK_BUDGET_VAR,
    HEARTBEAT_VAR,
    MAINTENANCE_VAR,
    POLL_VAR,
    EMBEDDED_VAR,
    LOG_LEVEL_VAR,
)

# Every parsed setting of Settings, in the order Settings.check reads them.
SECTIONS = (
    "database_url",
    "redis_url",
    "redis_prefix",
    "store",
    "log_level",
    "web",
    "session",
    "batches",
    "chains",
    "scheduler",
    "dev",
)

_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_DECIMAL = re.compile(r"[0-9]+")
# Dramatiq's maintenance chance is counted per million broker commands.
_MAINTENANCE_SCALE = 1_000_000
# A renewal is one Redis round trip, which may take up to its two-second socket
# timeout; a lease must outlast a few of those.
MIN_LEASE_TTL_MS = 3_000
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A session record's MAC is only as strong as this secret is hard to guess.
MIN_SESSION_SECRET = 32


def _invalid(message: str) -> SecretStoreError:
    return SecretStoreError("invalid_argument", message)


def _text(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value without surrounding blanks; ``None`` when unset or blank."""
    return env.get(name, "").strip() or None


def _digits(text: str) -> int | None:
    # str.isdigit also admits digits such as superscripts that int() refuses.
    if not text.isdigit():
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = _text(env, name)
    if text is None:
        return default
    number = _digits(text)
    if number is None or number <= 0:
        raise _invalid(f"{name} must be a positive integer")
    return number


def _int_at_least(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    text = _text(env, name)
    if text is None:
        return default
    number = _digits(text)
    if number is None or number < minimum:
        raise _invalid(f"{name} must be an integer of at least {minimum}")
    return number


def parse_default_ttl_ms(env: Mapping[str, str]) -> int | None:
    """``SECRET_STORE_DEFAULT_TTL_MS`` as milliseconds, or ``None`` when unset or empty."""
    text = _text(env, DEFAULT_TTL_VAR)
    if text is None:
        return None
    try:
        ttl_ms = int(text) if _DECIMAL.fullmatch(text) else 0
    except ValueError:  # more digits than int() accepts
        ttl_ms = 0
    if ttl_ms <= 0:
        raise _invalid(f"{DEFAULT_TTL_VAR} must be a positive integer number of milliseconds")
    return ttl_ms


def redis_key(prefix: str, *parts: str) -> str:
    """A Redis key in the namespace of the deployment whose prefix is ``prefix``."""
    return ":".join((prefix, *parts))


@dataclass(frozen=True)
class KeyConfig:
    """Where the KEKs come from: the variable's text, or the path of the file holding it.

    ``None`` means unset; an empty string is a setting (and an error).
    """

    text: str | None = field(repr=False)
    path: str | None


@dataclass(frozen=True)
class StoreSettings:
    """What the store and the token service of any process are built with."""

    # Given to a put without ttl_ms; None: such secrets never expire.
    default_ttl_ms: int | None
    admin_token: str | None = field(repr=False)
    # The newest versions of a secret kept; older ones are pruned by the write.
    max_versions: int = 10
    # How long a deleted secret stays restorable; 0: a delete purges at once.
    recovery_window_ms: int = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class WebSettings:
    port: int
    # Set by `secretstore dev`: the dashboard offers demo data.
    embedded: bool


@dataclass(frozen=True)
class SessionSettings:
    """The dashboard's sessions: the secret that authenticates them, and how long they last."""

    # Authenticates session records and signs CSRF tokens. None only in the
    # embedded default started by hand without it (`secretstore dev` always
    # sets it): each process then draws its own.
    secret: str | None = field(repr=False)
    # A session unused this long ends; every request moves this forward.
    idle_seconds: int = 8 * 3600
    # A session ends this long after its sign-in, however busy it is.
    lifetime_seconds: int = 12 * 3600


@dataclass(frozen=True)
class BatchSettings:
    rotation_batch_size: int
    cleanup_batch_size: int


@dataclass(frozen=True)
class ChainSettings:
    """What the queue side needs: the broker, the chains' leases and their links."""

    # Every Redis key of this deployment starts with it: the chain leases, the
    # scheduler's leader lock and Dramatiq's queues.
    redis_prefix: str = "secretstore"
    # How long a chain's lease outlives its last renewal. While a link runs, a
    # thread of its worker renews it every quarter of this, so only a dead,
    # paused or cut-off worker loses it, and the scheduler resumes its chain
    # within about this long (docs/adr/0011). A takeover never lets a stale
    # link write: the database fences it off.
    lease_ttl_ms: int = 6_000
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

    def key(self, *parts: str) -> str:
        """A Redis key in this deployment's namespace."""
        return redis_key(self.redis_prefix, *parts)

    @property
    def lease_renew_ms(self) -> int:
        """How often a running link renews its lease."""
        return self.lease_ttl_ms // 4

    @property
    def resume_check_ms(self) -> int:
        """How often the scheduler looks for a chain whose lease lapsed with work left."""
        return self.lease_ttl_ms // 3


@dataclass(frozen=True)
class SchedulerSettings:
    # Five-field cron expressions, read in UTC.
    cleanup_cron: str = "30 3 * * *"
    rotation_cron: str = "0 4 * * *"
    # 0 turns the watchdog off.
    watchdog_seconds: int = 60
    # How often the scheduler starts the audit sealer when events wait unsealed; 0: never.
    seal_watch_seconds: int = 2


@dataclass(frozen=True)
class DevSettings:
    # The address `secretstore dev` has the web process listen on.
    host: str


class Settings:
    """The settings of one environment, each section parsed on first use and then kept."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = environ

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        return cls(os.environ if environ is None else environ)

    @cached_property
    def database_url(self) -> str | None:
        return _text(self._env, DATABASE_URL_VAR)

    @cached_property
    def redis_url(self) -> str | None:
        return _text(self._env, REDIS_URL_VAR)

    @cached_property
    def redis_prefix(self) -> str:
        prefix = _text(self._env, PREFIX_VAR) or ChainSettings.redis_prefix
        if not _PREFIX.fullmatch(prefix):
            raise _invalid(
                f"{PREFIX_VAR} must be 1-64 characters from A-Z a-z 0-9 . _ : -,"
                " starting with a letter or digit"
            )
        return prefix

    def redis_key(self, *parts: str) -> str:
        """A Redis key in this deployment's namespace."""
        return redis_key(self.redis_prefix, *parts)

    def keys(self) -> KeyConfig:
        """The key configuration as it is now (read again on every call)."""
        return KeyConfig(text=self._env.get(KEYS_VAR), path=self._env.get(KEYS_FILE_VAR))

    @cached_property
    def store(self) -> StoreSettings:
        defaults = StoreSettings(default_ttl_ms=None, admin_token=None)
        return StoreSettings(
            default_ttl_ms=parse_default_ttl_ms(self._env),
            admin_token=self._env.get(ADMIN_TOKEN_VAR) or None,
            max_versions=_int_at_least(self._env, MAX_VERSIONS_VAR, defaults.max_versions, 1),
            recovery_window_ms=_int_at_least(
                self._env, RECOVERY_WINDOW_VAR, defaults.recovery_window_ms, 0
            ),
        )

    @cached_property
    def log_level(self) -> str:
        level = _text(self._env, LOG_LEVEL_VAR) or "INFO"
        if level not in logging.getLevelNamesMapping():
            raise _invalid(f"{LOG_LEVEL_VAR} must be one of {', '.join(_LOG_LEVELS)}")
        return level

    @cached_property
    def web(self) -> WebSettings:
        return WebSettings(
            port=_positive_int(self._env, PORT_VAR, 8000),
            embedded=self._env.get(EMBEDDED_VAR) == "1",
        )

    @cached_property
    def session(self) -> SessionSettings:
        """Refused without a secret outside the embedded default (``secretstore dev``).

        With a random secret per process, a session written by one web process
        is refused by the next and a restart signs everyone out: a missing
        setting would show only once a second process is added. Refusing to
        start shows it at once.
        """
        secret = self._env.get(SESSION_SECRET_VAR) or None
        if secret is None and not self.web.embedded:
            raise _invalid(
                f"{SESSION_SECRET_VAR} is required: a random string of at least"
                f" {MIN_SESSION_SECRET} characters, the same for every web process"
            )
        if secret is not None and len(secret) < MIN_SESSION_SECRET:
            raise _invalid(f"{SESSION_SECRET_VAR} must be at least {MIN_SESSION_SECRET} characters")
        defaults = SessionSettings(secret=None)
        return SessionSettings(
            secret=secret,
            idle_seconds=_positive_int(self._env, SESSION_IDLE_VAR, defaults.idle_seconds),
            lifetime_seconds=_positive_int(
                self._env, SESSION_LIFETIME_VAR, defaults.lifetime_seconds
            ),
        )

    @cached_property
    def batches(self) -> BatchSettings:
        return BatchSettings(
            rotation_batch_size=_positive_int(self._env, ROTATION_BATCH_VAR, 100),
            cleanup_batch_size=_positive_int(self._env, CLEANUP_BATCH_VAR, 500),
        )

    @cached_property
    def chains(self) -> ChainSettings:
        env, defaults = self._env, ChainSettings()
        chains = ChainSettings(
            redis_prefix=self.redis_prefix,
            lease_ttl_ms=_int_at_least(env, LEASE_TTL_VAR, defaults.lease_ttl_ms, MIN_LEASE_TTL_MS),
            link_time_limit_ms=_int_at_least(env, TIME_LIMIT_VAR, defaults.link_time_limit_ms, 1),
            heartbeat_timeout_ms=_int_at_least(
                env, HEARTBEAT_VAR, defaults.heartbeat_timeout_ms, 1
            ),
            maintenance_chance=_int_at_least(env, MAINTENANCE_VAR, defaults.maintenance_chance, 0),
            poll_ms=_int_at_least(env, POLL_VAR, defaults.poll_ms, 5),
            link_budget_ms=_int_at_least(env, LINK_BUDGET_VAR, defaults.link_budget_ms, 0),
        )
        if chains.link_budget_ms * 2 > chains.link_time_limit_ms:
            raise _invalid(f"{LINK_BUDGET_VAR} must be at most half of {TIME_LIMIT_VAR}")
        if chains.maintenance_chance > _MAINTENANCE_SCALE:
            raise _invalid(f"{MAINTENANCE_VAR} must be at most {_MAINTENANCE_SCALE}")
        return chains

    @cached_property
    def scheduler(self) -> SchedulerSettings:
        env, defaults = self._env, SchedulerSettings()
        return SchedulerSettings(
            cleanup_cron=_cron(env, CLEANUP_CRON_VAR, defaults.cleanup_cron),
            rotation_cron=_cron(env, ROTATION_CRON_VAR, defaults.rotation_cron),
            watchdog_seconds=_int_at_least(env, WATCHDOG_VAR, defaults.watchdog_seconds, 0),
            seal_watch_seconds=_int_at_least(env, SEAL_WATCH_VAR, defaults.seal_watch_seconds, 0),
        )

    def check(self) -> None:
        """Parse every section now; raises the first problem found."""
        for section in SECTIONS:
            getattr(self, section)

    @cached_property
    def dev(self) -> DevSettings:
        # `secretstore dev --data-dir/--port` default to SECRET_STORE_DATA_DIR and
        # PORT through their options, so that --help names the variables.
        return DevSettings(host=self._env.get(HOST_VAR, "127.0.0.1"))


def _cron(env: Mapping[str, str], name: str, default: str) -> str:
    expression = _text(env, name) or default
    # The scheduler's library reads the expression; imported here only, so that
    # processes without a scheduler never load it.
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as error:
        raise _invalid(f"{name} is not a five-field cron expression: {error}") from None
    return expression
