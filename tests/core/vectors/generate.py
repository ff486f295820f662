"""Generate envelope_v1.json, the known-answer vectors for core/crypto.py.

Run once from the repository root: ``python tests/core/vectors/generate.py``.
It builds the layout described in core/crypto.py's docstring from the AES-GCM
primitive directly and does not import core, so the vectors check the module
against a second, independent reading of the format. Every key and nonce is
derived from a fixed label, so running it again writes the same file.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

OUT = Path(__file__).with_name("envelope_v1.json")


def fixed(label: str, size: int) -> bytes:
    return hashlib.sha256(f"envelope_v1 {label}".encode()).digest()[:size]


def field(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack(">I", len(data)) + data


def value_aad(namespace: str, name: str) -> bytes:
    return b"secret-store/value/v1" + field(namespace) + field(name)


def dek_aad(namespace: str, name: str, version: int) -> bytes:
    return b"secret-store/dek/v1" + field(namespace) + field(name) + struct.pack(">I", version)


def seal_bytes(
    label: str, plaintext: bytes, namespace: str, name: str, version: int
) -> dict[str, Any]:
    kek, dek = fixed(f"{label} kek", 32), fixed(f"{label} dek", 32)
    value_nonce, dek_nonce = fixed(f"{label} value nonce", 12), fixed(f"{label} dek nonce", 12)
    return {
        "namespace": namespace,
        "name": name,
        "kek": kek.hex(),
        "key_version": version,
        "dek": dek.hex(),
        "value_nonce": value_nonce.hex(),
        "dek_nonce": dek_nonce.hex(),
        "value_aad": value_aad(namespace, name).hex(),
        "dek_aad": dek_aad(namespace, name, version).hex(),
        "ciphertext": AESGCM(dek).encrypt(value_nonce, plaintext, value_aad(namespace, name)).hex(),
        "wrapped_dek": AESGCM(kek).encrypt(dek_nonce, dek, dek_aad(namespace, name, version)).hex(),
    }


def valid(
    label: str, description: str, value: str, namespace: str, name: str, version: int
) -> dict[str, Any]:
    return {
        "description": description,
        "value": value,
        **seal_bytes(label, value.encode("utf-8"), namespace, name, version),
    }


def rewrapped(label: str, vector: dict[str, Any], new_version: int) -> dict[str, Any]:
    dek = bytes.fromhex(vector["dek"])
    new_kek, new_nonce = fixed(f"{label} new kek", 32), fixed(f"{label} new dek nonce", 12)
    new_aad = dek_aad(vector["namespace"], vector["name"], new_version)
    return {
        "description": f"rewrap of '{vector['description']}' to version {new_version}",
        "namespace": vector["namespace"],
        "name": vector["name"],
        "value": vector["value"],
        "ciphertext": vector["ciphertext"],
        "value_nonce": vector["value_nonce"],
        "wrapped_dek": vector["wrapped_dek"],
        "dek_nonce": vector["dek_nonce"],
        "old_kek": vector["kek"],
        "old_version": vector["key_version"],
        "new_kek": new_kek.hex(),
        "new_version": new_version,
        "new_dek_nonce": new_nonce.hex(),
        "new_wrapped_dek": AESGCM(new_kek).encrypt(new_nonce, dek, new_aad).hex(),
    }


SEALED_FIELDS = (
    "namespace",
    "name",
    "kek",
    "key_version",
    "ciphertext",
    "value_nonce",
    "wrapped_dek",
    "dek_nonce",
)


def invalid(description: str, base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    vector = {key: base[key] for key in SEALED_FIELDS}
    vector.update(changes)
    return {"description": description, **vector}


def flip(hex_text: str, index: int) -> str:
    data = bytearray.fromhex(hex_text)
    data[index] ^= 0x01
    return data.hex()


def main() -> None:
    ascii_ = valid("ascii", "ascii value", "correct horse battery staple", "acme", "db-password", 1)
    unicode_ = valid("unicode", "unicode", "héllo wörld ✓ 🔐", "équipe", "clé/🔑", 7)
    empty = valid("empty", "empty value, version 0", "", "ops", "empty", 0)
    largest = valid(
        "largest",
        "65,536-byte value, highest version",
        "0123456789abcdef" * 4096,
        "bulk",
        "largest",
        2**32 - 1,
    )
    colon_left = valid("colon", "namespace 'a:b', name 'c'", "left", "a:b", "c", 1)
    colon_right = valid("colon", "namespace 'a', name 'b:c'", "left", "a", "b:c", 1)
    not_utf8 = seal_bytes("not utf8", b"\xff\xfe", "acme", "not-utf8", 1)

    other_kek = fixed("other kek", 32).hex()
    invalids = [
        invalid("first ciphertext byte flipped", ascii_, ciphertext=flip(ascii_["ciphertext"], 0)),
        invalid("last tag byte flipped", ascii_, ciphertext=flip(ascii_["ciphertext"], -1)),
        invalid("tag truncated by one byte", ascii_, ciphertext=ascii_["ciphertext"][:-2]),
        invalid("ciphertext empty", ascii_, ciphertext=""),
        invalid("value nonce flipped", ascii_, value_nonce=flip(ascii_["value_nonce"], 5)),
        invalid("value nonce 11 bytes", ascii_, value_nonce=ascii_["value_nonce"][:-2]),
        invalid("wrapped dek flipped", ascii_, wrapped_dek=flip(ascii_["wrapped_dek"], 3)),
        invalid("wrapped dek truncated", ascii_, wrapped_dek=ascii_["wrapped_dek"][:-2]),
        invalid("wrapped dek extended", ascii_, wrapped_dek=ascii_["wrapped_dek"] + "00"),
        invalid("dek nonce flipped", ascii_, dek_nonce=flip(ascii_["dek_nonce"], 11)),
        invalid("dek nonce empty", ascii_, dek_nonce=""),
        invalid(
            "nonces swapped",
            ascii_,
            value_nonce=ascii_["dek_nonce"],
            dek_nonce=ascii_["value_nonce"],
        ),
        invalid("key version relabelled", ascii_, key_version=2),
        invalid("other namespace", ascii_, namespace="acme2"),
        invalid("other name", ascii_, name="db-password2"),
        invalid("wrong kek", ascii_, kek=other_kek),
        invalid(
            "value of another row under this row's dek",
            ascii_,
            ciphertext=unicode_["ciphertext"],
            value_nonce=unicode_["value_nonce"],
        ),
        invalid("row 'a:b'/'c' read as 'a'/'b:c'", colon_left, namespace="a", name="b:c"),
        invalid("authenticated plaintext that is not UTF-8", not_utf8),
    ]
    document = {
        "description": "Known answers for core/crypto.py, layout v1; see generate.py.",
        "valid": [ascii_, unicode_, empty, largest, colon_left, colon_right],
        "rewrap": [rewrapped("ascii", ascii_, 2), rewrapped("unicode", unicode_, 8)],
        "invalid": invalids,
    }
    OUT.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
