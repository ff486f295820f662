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
    settings = Settings.from_env(environ)
    keys = KeyRingSource(environ)
    store: Store = SecretStore(keys.current, default_ttl_ms=settings.default_ttl_ms)
    tokens = TokenService(admin_token=settings.admin_token)
    return Runtime(settings=settings, keys=keys, store=store, tokens=tokens)
