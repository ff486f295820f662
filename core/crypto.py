"""Envelope encryption of secret values with AES-256-GCM.

The default path: :func:`seal` a value for its :class:`Location` (the secret's
namespace, name, id and version number) under the active KEK and store the
five fields of the :class:`SealedSecret`; later :func:`open_sealed` it with the
same location and the KEK of its ``key_version``. :func:`rewrap` moves a
wrapped DEK onto another KEK without touching the value's ciphertext.

Byte layout (``u32`` is a 4-byte big-endian unsigned integer)::

    dek          32 random bytes, drawn for every write
    value_nonce  12 random bytes
    ciphertext   AES-256-GCM(dek).encrypt(value_nonce, utf8(value), value_aad)
                 = encrypted value || 16-byte tag
    dek_nonce    12 random bytes
    wrapped_dek  AES-256-GCM(kek).encrypt(dek_nonce, dek, dek_aad)   (48 bytes)

    field(s)     u32(len(utf8(s))) || utf8(s)
    where        field(namespace) || field(name) || secret_id (16 bytes) || u32(version)

    layout 2 (every value written since versions exist)
    value_aad    b"secret-store/value/v2" || where
    dek_aad      b"secret-store/dek/v2" || where || u32(key_version)

    layout 1 (values written before versions; read, rewrapped, never written)
    value_aad    b"secret-store/value/v1" || field(namespace) || field(name)
    dek_aad      b"secret-store/dek/v1" || field(namespace) || field(name) || u32(key_version)

Caveats:

- The associated data binds each ciphertext to its place. A value or wrapped
  DEK copied to another (namespace, name), another secret or another version
  of the same secret, or a wrapped DEK relabelled with another key version,
  fails to authenticate. The length prefixes keep ("a:b", "c") and
  ("a", "b:c") apart.
- Layout 1 binds only (namespace, name). :meth:`Location.stored` accepts it
  at version 1 alone, where the upgrade put every older value, so a layout-1
  ciphertext cannot stand in for a later version (ADR 0010).
- Every authentication failure raises :class:`InvalidCiphertext`, which says
  nothing about which field or why. ``ValueError`` means the caller passed a
  malformed argument (a key of the wrong length, a version outside u32, text
  with a lone surrogate).
- Nothing here logs, and no repr shows a value, a DEK or a KEK.
"""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "AAD_LAYOUTS",
    "CURRENT_LAYOUT",
    "InvalidCiphertext",
    "Location",
    "SealedSecret",
    "dek_aad",
    "open_sealed",
    "rewrap",
    "seal",
    "value_aad",
]

_KEY_SIZE = 32
_NONCE_SIZE = 12
_TAG_SIZE = 16
_WRAPPED_DEK_SIZE = _KEY_SIZE + _TAG_SIZE
_U32 = struct.Struct(">I")
_LABELS = {
    1: (b"secret-store/value/v1", b"secret-store/dek/v1"),
    2: (b"secret-store/value/v2", b"secret-store/dek/v2"),
}
AAD_LAYOUTS = tuple(_LABELS)
# What every seal writes; layout 1 is only ever read or rewrapped.
CURRENT_LAYOUT = 2


class InvalidCiphertext(Exception):
    """A sealed field did not authenticate: tampering, corruption, another row's
    data, a relabelled key version, or the wrong KEK.

    It deliberately carries no message and no cause: telling which field or
    which check failed helps only an attacker probing the store.
    """


@dataclass(frozen=True)
class SealedSecret:
    """What the store keeps for one value; none of it is secret without the KEK."""

    ciphertext: bytes
    value_nonce: bytes
    wrapped_dek: bytes
    dek_nonce: bytes
    key_version: int

    def __repr__(self) -> str:
        return (
            f"SealedSecret(ciphertext=<{len(self.ciphertext)} bytes>, "
            f"value_nonce=<{len(self.value_nonce)} bytes>, "
            f"wrapped_dek=<{len(self.wrapped_dek)} bytes>, "
            f"dek_nonce=<{len(self.dek_nonce)} bytes>, key_version={self.key_version})"
        )


@dataclass(frozen=True)
class Location:
    """Where a sealed value belongs: the associated data is built from this alone."""

    namespace: str
    name: str
    secret_id: uuid.UUID | None
    version: int
    layout: int

    @classmethod
    def of_version(cls, namespace: str, name: str, secret_id: uuid.UUID, version: int) -> Location:
        """The place of version ``version`` of a secret, in the layout every seal writes."""
        if not 1 <= version <= 0xFFFFFFFF:
            raise ValueError("a version number must fit in 32 unsigned bits and be positive")
        return cls(namespace, name, secret_id, version, CURRENT_LAYOUT)

    @classmethod
    def legacy(cls, namespace: str, name: str) -> Location:
        """The place of a value sealed before versions: bound to (namespace, name) only."""
        return cls(namespace, name, None, 1, 1)

    @classmethod
    def stored(
        cls, namespace: str, name: str, secret_id: uuid.UUID, version: int, layout: int
    ) -> Location:
        """The location of a stored version, from its row; InvalidCiphertext when it cannot be.

        The layout marker is a column anyone with write access to the database
        can change, so layout 1 is believed only at version 1: the upgrade made
        every older value a version 1, and nothing writes layout 1 since.
        """
        if layout == CURRENT_LAYOUT:
            return cls.of_version(namespace, name, secret_id, version)
        if layout == 1 and version == 1:
            return cls.legacy(namespace, name)
        raise InvalidCiphertext


def value_aad(location: Location) -> bytes:
    """The associated data binding a value's ciphertext to its place."""
    return _LABELS[location.layout][0] + _where(location)


def dek_aad(location: Location, key_version: int) -> bytes:
    """The associated data binding a wrapped DEK to its place and its key version."""
    if not 0 <= key_version <= 0xFFFFFFFF:
        raise ValueError("key_version must fit in 32 unsigned bits")
    return _LABELS[location.layout][1] + _where(location) + _U32.pack(key_version)


def _where(location: Location) -> bytes:
    address = _field(location.namespace, "namespace") + _field(location.name, "name")
    if location.layout == 1:
        return address
    if location.secret_id is None:
        raise ValueError("a layout-2 location needs the secret's id")
    return address + location.secret_id.bytes + _U32.pack(location.version)


def seal(value: str, *, location: Location, kek: bytes, key_version: int) -> SealedSecret:
    """Encrypt ``value`` under a fresh DEK and wrap that DEK under ``kek``."""
    # Random nonces are safe: each DEK encrypts exactly one value, and a KEK wraps
    # far fewer than the 2**32 messages NIST SP 800-38D allows per key with random
    # 96-bit nonces (a version is meant to be rotated long before that).
    return _seal_from_parts(
        value,
        location=location,
        kek=kek,
        key_version=key_version,
        dek=os.urandom(_KEY_SIZE),
        value_nonce=os.urandom(_NONCE_SIZE),
        dek_nonce=os.urandom(_NONCE_SIZE),
    )


def _seal_from_parts(
    value: str,
    *,
    location: Location,
    kek: bytes,
    key_version: int,
    dek: bytes,
    value_nonce: bytes,
    dek_nonce: bytes,
) -> SealedSecret:
    _check_key(kek, "KEK")
    _check_key(dek, "DEK")
    _check_nonce(value_nonce)
    _check_nonce(dek_nonce)
    plaintext = _utf8(value, "value")
    ciphertext = AESGCM(dek).encrypt(value_nonce, plaintext, value_aad(location))
    wrapped_dek = _kek_cipher(kek).encrypt(dek_nonce, dek, dek_aad(location, key_version))
    return SealedSecret(
        ciphertext=ciphertext,
        value_nonce=value_nonce,
        wrapped_dek=wrapped_dek,
        dek_nonce=dek_nonce,
        key_version=key_version,
    )


def open_sealed(sealed: SealedSecret, *, location: Location, kek: bytes) -> str:
    """Decrypt a value sealed for ``location`` under ``kek``, or raise InvalidCiphertext."""
    aad = dek_aad(location, sealed.key_version)
    dek = _unwrap(sealed.wrapped_dek, sealed.dek_nonce, kek, aad)
    plaintext = _decrypt(AESGCM(dek), sealed.value_nonce, sealed.ciphertext, value_aad(location))
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidCiphertext from None


def rewrap(
    *,
    wrapped_dek: bytes,
    dek_nonce: bytes,
    location: Location,
    old_kek: bytes,
    old_version: int,
    new_kek: bytes,
    new_version: int,
) -> tuple[bytes, bytes]:
    """Move a wrapped DEK from ``old_kek`` to ``new_kek``; returns (wrapped_dek, dek_nonce).

    The value's ciphertext and nonce stay as they are: the DEK itself does not
    change, so no plaintext is handled and no (key, nonce) pair is reused.
    """
    return _rewrap_from_parts(
        wrapped_dek=wrapped_dek,
        dek_nonce=dek_nonce,
        location=location,
        old_kek=old_kek,
        old_version=old_version,
        new_kek=new_kek,
        new_version=new_version,
        new_dek_nonce=os.urandom(_NONCE_SIZE),
    )


def _rewrap_from_parts(
    *,
    wrapped_dek: bytes,
    dek_nonce: bytes,
    location: Location,
    old_kek: bytes,
    old_version: int,
    new_kek: bytes,
    new_version: int,
    new_dek_nonce: bytes,
) -> tuple[bytes, bytes]:
    _check_key(new_kek, "new KEK")
    _check_nonce(new_dek_nonce)
    new_aad = dek_aad(location, new_version)
    dek = _unwrap(wrapped_dek, dek_nonce, old_kek, dek_aad(location, old_version))
    return _kek_cipher(new_kek).encrypt(new_dek_nonce, dek, new_aad), new_dek_nonce


def _unwrap(wrapped_dek: bytes, dek_nonce: bytes, kek: bytes, aad: bytes) -> bytes:
    _check_key(kek, "KEK")
    if len(wrapped_dek) != _WRAPPED_DEK_SIZE:
        raise InvalidCiphertext
    return _decrypt(_kek_cipher(kek), dek_nonce, wrapped_dek, aad)


@lru_cache(maxsize=16)
def _kek_cipher(kek: bytes) -> AESGCM:
    """One cipher object per KEK, as a process holds only a handful of KEKs.

    Only KEKs: a DEK's cipher is built and dropped with each value, so no DEK
    outlives the call that needed it. A KEK removed from the configuration
    stays here until pushed out or the process restarts, as it does in any
    key ring object still referenced.
    """
    return AESGCM(kek)


def _decrypt(cipher: AESGCM, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    if len(nonce) != _NONCE_SIZE or len(data) < _TAG_SIZE:
        raise InvalidCiphertext
    try:
        return cipher.decrypt(nonce, data, aad)
    except InvalidTag:
        raise InvalidCiphertext from None


def _field(text: str, what: str) -> bytes:
    data = _utf8(text, what)
    return _U32.pack(len(data)) + data


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # from None: the encode error holds the whole text, which may be a value.
        raise ValueError(f"{what} is not valid Unicode text (it has a lone surrogate)") from None


def _check_key(key: bytes, what: str) -> None:
    if len(key) != _KEY_SIZE:
        raise ValueError(f"the {what} must be {_KEY_SIZE} bytes")


def _check_nonce(nonce: bytes) -> None:
    if len(nonce) != _NONCE_SIZE:
        raise ValueError(f"a nonce must be {_NONCE_SIZE} bytes")
