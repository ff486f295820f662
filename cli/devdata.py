"""What the embedded default keeps in its data directory besides the servers' data.

    data_dir/dev-keys      the development KEK, ``1:<base64>`` (0600), made on the first run
    data_dir/admin-token   the bootstrap admin token (0600), made on the first run
    data_dir/session-secret  the dashboard's session secret (0600), made on the first run
    data_dir/dev.env       DATABASE_URL, REDIS_URL and SECRET_STORE_KEYS_FILE of the
                           running instance, for other ``secretstore`` commands (0600)

Each file is made once and read on every later run, so a second run finds the
same secrets under the same key, accepts the same token and keeps its
dashboard sessions. The key sits next
to the data it protects: that is why this mode is for trying and developing
only. A key or token set in the environment wins and nothing is written for it.
"""

from __future__ import annotations

import os
import secrets as random_source
import shlex
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cli.output import fail
from core.keys import KEYS_FILE_VAR, KEYS_VAR, KeyRing, generate_kek, load_keyring
from core.settings import SESSION_SECRET_VAR

KEYS_FILE = "dev-keys"
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name
ENV_FILE = "dev.env"
ADMIN_TOKEN_VAR = "SECRET_STORE_ADMIN_TOKEN"  # noqa: S105 - a variable's name
SESSION_SECRET_FILE = "session-secret"  # noqa: S105 - a file name


@dataclass(frozen=True)
class DevKeys:
    # what the child processes need added to their environment (nothing when the
    # operator configured keys: theirs are already in the environment)
    env: dict[str, str]
    ring: KeyRing
    # a human description of where the keys come from, never the keys
    source: str
    generated_file: Path | None


@dataclass(frozen=True)
class DevToken:
    token: str = field(repr=False)
    source: str
    from_environment: bool = False


def dev_keys(data_dir: Path, environ: Mapping[str, str]) -> DevKeys:
    """The operator's key configuration if there is one, else the data directory's dev key."""
    if KEYS_VAR in environ or KEYS_FILE_VAR in environ:
        ring = load_keyring(environ)
        source = KEYS_VAR if KEYS_VAR in environ else f"{KEYS_FILE_VAR} ({environ[KEYS_FILE_VAR]})"
        return DevKeys(env={}, ring=ring, source=source, generated_file=None)
    path = data_dir / KEYS_FILE
    _read_or_create(path, lambda: f"1:{generate_kek()}\n")
    ring = load_keyring({KEYS_FILE_VAR: str(path)})
    return DevKeys(
        env={KEYS_FILE_VAR: str(path)},
        ring=ring,
        source=f"development key in {path}",
        generated_file=path,
    )


def dev_admin_token(data_dir: Path, environ: Mapping[str, str]) -> DevToken:
    token = environ.get(ADMIN_TOKEN_VAR, "").strip()
    if token:
        return DevToken(token, f"from {ADMIN_TOKEN_VAR}", from_environment=True)
    # Imported here, not at the top: see cli.main on the engine's import-time check.
    from core.tokens import TOKEN_PREFIX

    path = data_dir / ADMIN_TOKEN_FILE
    # The same shape as tokens made through the API, so secret scanners that
    # know the prefix find this one too.
    token = _read_or_create(path, lambda: TOKEN_PREFIX + random_source.token_urlsafe(32) + "\n")
    if not token:
        fail(f"{path} is empty; delete it to have a new admin token made")
    return DevToken(token, f"kept in {path}")


def dev_session_secret(data_dir: Path, environ: Mapping[str, str]) -> str:
    """The operator's ``SECRET_STORE_SESSION_SECRET``, else the data directory's."""
    secret = environ.get(SESSION_SECRET_VAR, "")
    if secret:
        return secret
    path = data_dir / SESSION_SECRET_FILE
    secret = _read_or_create(path, lambda: random_source.token_urlsafe(32) + "\n")
    if not secret:
        fail(f"{path} is empty; delete it to have a new session secret made")
    return secret


def write_env_file(data_dir: Path, values: Mapping[str, str]) -> Path:
    """Write ``dev.env`` for ``set -a; . dev.env; set +a`` (replaced atomically, 0600)."""
    path = data_dir / ENV_FILE
    lines = [
        "# The services of the `secretstore dev` running on this data directory.",
        f"# In another shell: set -a; . {shlex.quote(str(path))}; set +a",
        *(f"{name}={shlex.quote(value)}" for name, value in values.items()),
    ]
    temporary = path.with_name(f".{ENV_FILE}.{os.getpid()}")
    _write_new(temporary, "\n".join(lines) + "\n")
    temporary.replace(path)
    return path


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The stripped text of ``path``, writing ``make()`` to it first if it does not exist.

    O_EXCL makes two first runs racing on one directory agree on one file.
    """
    try:
        _write_new(path, make())
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            # Tightened rather than refused: this file is ours, and a copy or an
            # archive tool may have widened it.
            path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _write_new(path: Path, text: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
