"""The store and the token service of one process, built from its environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.keys import KeyRingSource
from core.settings import Settings
from core.store import SecretStore
from core.tokens import TokenService

Store = SecretStore[str, dict[str, Any]]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    keys: KeyRingSource
    store: Store
    tokens: TokenService


def build_runtime(environ: Mapping[str, str] | None = None) -> Runtime:
    """The runtime of ``environ`` (by default ``os.environ``).

    Only the settings the store and the tokens need are parsed here; each
    process reads the sections of its own from ``runtime.settings``.
    """
    settings = Settings.from_env(environ)
    store_settings = settings.store
    keys = KeyRingSource(environ)
    store: Store = SecretStore(
        keys.current,
        default_ttl_ms=store_settings.default_ttl_ms,
        max_versions=store_settings.max_versions,
        recovery_window_ms=store_settings.recovery_window_ms,
    )
    tokens = TokenService(admin_token=store_settings.admin_token)
    return Runtime(settings=settings, keys=keys, store=store, tokens=tokens)
