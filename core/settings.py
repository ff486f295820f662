"""Settings, read from the environment in this one module.

``SECRET_STORE_KEYS`` is not read here: :class:`core.keys.KeyRingSource`
re-reads it whenever it changes, and a bad key string makes key-dependent
operations fail with ``invalid_keys`` instead of stopping the process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import SecretStoreError
from core.keys import parse_default_ttl_ms


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) <= 0:
        raise SecretStoreError("invalid_argument", f"{name} must be a positive integer")
    return int(text)


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    redis_url: str | None
    default_ttl_ms: int | None
    admin_token: str | None = field(repr=False)
    port: int
    data_dir: Path
    rotation_batch_size: int
    cleanup_batch_size: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            default_ttl_ms=parse_default_ttl_ms(env),
            admin_token=env.get("SECRET_STORE_ADMIN_TOKEN") or None,
            port=_positive_int(env, "PORT", 8000),
            data_dir=Path(env.get("SECRET_STORE_DATA_DIR") or ".data").resolve(),
            rotation_batch_size=_positive_int(env, "SECRET_STORE_ROTATION_BATCH", 100),
            cleanup_batch_size=_positive_int(env, "SECRET_STORE_CLEANUP_BATCH", 500),
        )
