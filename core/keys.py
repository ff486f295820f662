"""The KEK configuration: ``SECRET_STORE_KEYS`` parsed into a :class:`KeyRing`.

``SECRET_STORE_KEYS`` (or the file named by ``SECRET_STORE_KEYS_FILE``) holds
``version:base64,version:base64,...``. Each value is the canonical standard
base64 of 32 random bytes, exactly what ``openssl rand -base64 32`` prints;
versions are distinct non-negative integers in any order. The highest version
is the active one: every write wraps its DEK under it, and the older versions
stay for reading until rotation has moved every row off them.

Every configuration problem is ``SecretStoreError("invalid_keys", ...)`` with a
message that names the entry by position and version and never repeats any part
of a key, because such messages end up in logs, terminals and HTTP answers.
Nothing is read at import time: :class:`KeyRingSource` reads on demand and
reads again when the configuration changes. The variables are read through
:mod:`core.settings`, like every other setting.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from types import MappingProxyType

from core.errors import SecretStoreError
from core.settings import (
    DEFAULT_TTL_VAR,
    KEYS_FILE_VAR,
    KEYS_VAR,
    KeyConfig,
    Settings,
    parse_default_ttl_ms,
)

__all__ = [
    "DEFAULT_TTL_VAR",
    "KEYS_FILE_VAR",
    "KEYS_VAR",
    "KeyRing",
    "KeyRingSource",
    "define_keys",
    "generate_kek",
    "load_keyring",
    "parse_default_ttl_ms",
    "parse_keys",
]

KEK_SIZE = 32
# The DEK's associated data carries the key version as a 4-byte unsigned integer.
MAX_KEY_VERSION = 2**32 - 1

_KEK_ID_LABEL = b"secret-store kek id v1"
# No sign and no leading zeros, so that one version has exactly one spelling and
# "1" and "01" cannot both appear as different-looking entries for version 1.
_VERSION = re.compile(r"0|[1-9][0-9]*")
_STANDARD_BASE64_CHARS = re.compile(r"[A-Za-z0-9+/=]*")
_DECIMAL = re.compile(r"[0-9]+")


def _invalid(message: str) -> SecretStoreError:
    return SecretStoreError("invalid_keys", message)


class KeyRing:
    """The configured KEKs by version. Immutable; its repr shows versions only."""

    __slots__ = ("_material",)
    _material: Mapping[int, bytes]

    def __init__(self, material: Mapping[int, bytes]) -> None:
        if not material:
            raise ValueError("a KeyRing needs at least one KEK")
        for version, kek in material.items():
            if isinstance(version, bool) or not isinstance(version, int):
                raise TypeError("key versions must be integers")
            if not 0 <= version <= MAX_KEY_VERSION:
                raise ValueError(f"key versions must be in 0..{MAX_KEY_VERSION}")
            if not isinstance(kek, bytes) or len(kek) != KEK_SIZE:
                raise ValueError(f"the KEK of version {version} must be {KEK_SIZE} bytes")
        object.__setattr__(self, "_material", MappingProxyType(dict(sorted(material.items()))))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("KeyRing is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("KeyRing is immutable")

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(self._material)

    @property
    def active_version(self) -> int:
        return self.versions[-1]

    def kek_material(self, version: int) -> bytes:
        """The raw KEK of ``version``; raises ``KeyError`` when it is not configured."""
        return self._material[version]

    def kek_id(self, version: int) -> bytes:
        """An 8-byte identifier of the KEK under ``version``, safe to store and log.

        It lets a caller recognise "this row already failed to unwrap under this
        exact KEK" without keeping any material; HMAC keyed by the KEK reveals
        nothing about it, and 8 bytes tell a handful of KEKs apart.
        """
        return hmac.new(self.kek_material(version), _KEK_ID_LABEL, hashlib.sha256).digest()[:8]

    def __contains__(self, version: object) -> bool:
        return version in self._material

    def __repr__(self) -> str:
        return f"KeyRing(versions={self.versions!r}, active_version={self.active_version})"


def parse_keys(text: str, *, source: str = KEYS_VAR) -> KeyRing:
    """Parse ``version:base64,...``; ``source`` names the setting in the empty-case message."""
    entries = [entry.strip() for entry in text.split(",")]
    if not any(entries):
        raise _invalid(f"{source} is empty")
    material: dict[int, bytes] = {}
    positions: dict[int, int] = {}
    for position, entry in enumerate(entries, start=1):
        version, kek = _parse_entry(position, entry)
        if version in material:
            raise _invalid(
                f"duplicate version {version} (entries {positions[version]} and {position})"
            )
        material[version] = kek
        positions[version] = position
    return KeyRing(material)


def _parse_entry(position: int, entry: str) -> tuple[int, bytes]:
    if not entry:
        raise _invalid(f"entry {position} is empty")
    version_text, colon, key_text = entry.partition(":")
    if not colon:
        raise _invalid(f"entry {position}: missing ':' between version and key")
    version = _parse_version(position, version_text.strip())
    return version, _decode_kek(f"entry {position} (version {version})", key_text.strip())


def _parse_version(position: int, text: str) -> int:
    # The text is never echoed: a key pasted into the version's place must not leak.
    where = f"entry {position}"
    if not text:
        raise _invalid(f"{where}: version is missing before ':'")
    if not _VERSION.fullmatch(text):
        if _DECIMAL.fullmatch(text):
            raise _invalid(f"{where}: version has a leading zero")
        raise _invalid(f"{where}: version is not a non-negative decimal integer")
    if len(text) > len(str(MAX_KEY_VERSION)) or int(text) > MAX_KEY_VERSION:
        raise _invalid(f"{where}: version is larger than {MAX_KEY_VERSION}")
    return int(text)


def _decode_kek(where: str, text: str) -> bytes:
    if not text:
        raise _invalid(f"{where}: key is missing after ':'")
    if not _STANDARD_BASE64_CHARS.fullmatch(text):
        if "-" in text or "_" in text:
            raise _invalid(f"{where}: key uses the URL-safe base64 alphabet; use standard base64")
        if any(char.isspace() for char in text):
            raise _invalid(f"{where}: key contains whitespace")
        raise _invalid(f"{where}: key contains characters outside the standard base64 alphabet")
    if len(text) % 4:
        raise _invalid(f"{where}: key length is not a multiple of 4 (is '=' padding missing?)")
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error:
        raise _invalid(f"{where}: key has misplaced or excess '=' padding") from None
    # Decoders ignore the unused low bits of the last character, so several
    # spellings decode to the same key; only the one openssl prints is accepted.
    if base64.b64encode(raw).decode("ascii") != text:
        raise _invalid(f"{where}: key is not canonical standard base64")
    if len(raw) != KEK_SIZE:
        raise _invalid(f"{where}: key decodes to {len(raw)} bytes, expected {KEK_SIZE}")
    return raw


def define_keys(keys: Mapping[int, bytes | str]) -> str:
    """Build the ``SECRET_STORE_KEYS`` string from KEKs (raw bytes or base64), validated."""
    entries: list[str] = []
    for version, kek in keys.items():
        if isinstance(version, bool) or not isinstance(version, int):
            raise TypeError("key versions must be integers")
        if isinstance(kek, bytes):
            key_text = base64.b64encode(kek).decode("ascii")
        elif isinstance(kek, str):
            key_text = kek.strip()
        else:
            raise TypeError("a KEK must be bytes or base64 text")
        # A separator inside a value would smuggle in another entry.
        if "," in key_text or ":" in key_text:
            raise _invalid(f"version {version}: key must not contain ',' or ':'")
        entries.append(f"{version}:{key_text}")
    text = ",".join(entries)
    parse_keys(text)
    return text


def generate_kek() -> str:
    """A fresh KEK as standard base64, the form ``SECRET_STORE_KEYS`` expects."""
    return base64.b64encode(secrets.token_bytes(KEK_SIZE)).decode("ascii")


def load_keyring(environ: Mapping[str, str]) -> KeyRing:
    """The KeyRing configured by ``SECRET_STORE_KEYS`` or ``SECRET_STORE_KEYS_FILE``."""
    return keyring_of(Settings(environ).keys())


def keyring_of(config: KeyConfig) -> KeyRing:
    """The KeyRing a key configuration names (parsed, or read from its file and parsed)."""
    text, path = config.text, config.path
    if text is not None and path is not None:
        raise _invalid(f"set only one of {KEYS_VAR} and {KEYS_FILE_VAR}")
    if text is not None:
        return parse_keys(text)
    if path is not None:
        return parse_keys(_read_keys_file(path), source=f"{KEYS_FILE_VAR} {path!r}")
    raise _invalid(f"{KEYS_VAR} is not set (nor {KEYS_FILE_VAR})")


def _read_keys_file(path: str) -> str:
    if not path:
        raise _invalid(f"{KEYS_FILE_VAR} is set but empty")
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _invalid(f"{KEYS_FILE_VAR} {path!r} cannot be read: {reason}") from None
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        # from None: the decode error would quote a byte of the file.
        raise _invalid(f"{KEYS_FILE_VAR} {path!r} is not UTF-8 text") from None


class KeyRingSource:
    """The KeyRing of a live environment, parsed again only when its configuration changes.

    A key file mounted by a secret manager is replaced in place when a version is
    added, so long-running processes pick up new keys without a restart. While the
    configuration is bad, every call raises ``invalid_keys`` again.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._settings = Settings.from_env(environ)
        self._cached: tuple[tuple[object, ...], KeyRing] | None = None

    def current(self) -> KeyRing:
        config = self._settings.keys()
        stamp = self._stamp(config)
        cached = self._cached
        if stamp is not None and cached is not None and cached[0] == stamp:
            return cached[1]
        ring = keyring_of(config)
        if stamp is not None:
            self._cached = (stamp, ring)
        return ring

    @staticmethod
    def _stamp(config: KeyConfig) -> tuple[object, ...] | None:
        text, path = config.text, config.path
        if path is None:
            return (text, None)
        try:
            stat = os.stat(path)
        except OSError:
            return None
        # The inode also catches a same-size file renamed into place within the
        # filesystem's timestamp granularity.
        return (text, path, stat.st_ino, stat.st_mtime_ns, stat.st_size)
