import dataclasses
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from core.crypto import (
    InvalidCiphertext,
    Location,
    SealedSecret,
    _rewrap_from_parts,
    _seal_from_parts,
    dek_aad,
    open_sealed,
    rewrap,
    seal,
    value_aad,
)

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "envelope_v1.json").read_text(encoding="utf-8")
)
SEALED_BYTES = ("ciphertext", "value_nonce", "wrapped_dek", "dek_nonce")

KEK = bytes(range(32))
SECRET_ID = uuid.UUID("6f1c1a52-3f4e-4d7b-9a51-0d5a1b2c3d4e")
OTHER_KEK = bytes(range(32, 64))


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [vector["description"] for vector in vectors]


def _sealed(vector: dict[str, Any]) -> SealedSecret:
    return SealedSecret(
        **{field: bytes.fromhex(vector[field]) for field in SEALED_BYTES},
        key_version=vector["key_version"],
    )


def _at(namespace: str, name: str, version: int = 1) -> Location:
    return Location.of_version(namespace, name, SECRET_ID, version)


def _seal_short(namespace: str = "acme", name: str = "api-key") -> SealedSecret:
    return seal("s3cr3t", location=_at(namespace, name), kek=KEK, key_version=1)


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_seal_reproduces_known_answer_byte_for_byte(vector: dict[str, Any]) -> None:
    sealed = _seal_from_parts(
        vector["value"],
        location=Location.legacy(vector["namespace"], vector["name"]),
        kek=bytes.fromhex(vector["kek"]),
        key_version=vector["key_version"],
        dek=bytes.fromhex(vector["dek"]),
        value_nonce=bytes.fromhex(vector["value_nonce"]),
        dek_nonce=bytes.fromhex(vector["dek_nonce"]),
    )

    assert sealed == _sealed(vector)


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_associated_data_matches_known_answer(vector: dict[str, Any]) -> None:
    namespace, name = vector["namespace"], vector["name"]

    location = Location.legacy(namespace, name)
    assert value_aad(location).hex() == vector["value_aad"]
    assert dek_aad(location, vector["key_version"]).hex() == vector["dek_aad"]


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_open_decrypts_known_answer(vector: dict[str, Any]) -> None:
    value = open_sealed(
        _sealed(vector),
        location=Location.legacy(vector["namespace"], vector["name"]),
        kek=bytes.fromhex(vector["kek"]),
    )

    assert value == vector["value"]


@pytest.mark.parametrize("vector", VECTORS["rewrap"], ids=_ids(VECTORS["rewrap"]))
def test_rewrap_reproduces_known_answer_and_opens(vector: dict[str, Any]) -> None:
    new_wrapped_dek, new_dek_nonce = _rewrap_from_parts(
        wrapped_dek=bytes.fromhex(vector["wrapped_dek"]),
        dek_nonce=bytes.fromhex(vector["dek_nonce"]),
        location=Location.legacy(vector["namespace"], vector["name"]),
        old_kek=bytes.fromhex(vector["old_kek"]),
        old_version=vector["old_version"],
        new_kek=bytes.fromhex(vector["new_kek"]),
        new_version=vector["new_version"],
        new_dek_nonce=bytes.fromhex(vector["new_dek_nonce"]),
    )

    assert new_wrapped_dek.hex() == vector["new_wrapped_dek"]
    assert new_dek_nonce.hex() == vector["new_dek_nonce"]
    rewrapped = SealedSecret(
        ciphertext=bytes.fromhex(vector["ciphertext"]),
        value_nonce=bytes.fromhex(vector["value_nonce"]),
        wrapped_dek=new_wrapped_dek,
        dek_nonce=new_dek_nonce,
        key_version=vector["new_version"],
    )
    kek = bytes.fromhex(vector["new_kek"])
    value = open_sealed(
        rewrapped, location=Location.legacy(vector["namespace"], vector["name"]), kek=kek
    )
    assert value == vector["value"]


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=_ids(VECTORS["invalid"]))
def test_invalid_vector_raises_invalid_ciphertext(vector: dict[str, Any]) -> None:
    with pytest.raises(InvalidCiphertext):
        open_sealed(
            _sealed(vector),
            location=Location.legacy(vector["namespace"], vector["name"]),
            kek=bytes.fromhex(vector["kek"]),
        )


def test_seal_then_open_round_trips() -> None:
    sealed = _seal_short()

    assert open_sealed(sealed, location=_at("acme", "api-key"), kek=KEK) == "s3cr3t"
    assert sealed.key_version == 1
    assert len(sealed.value_nonce) == len(sealed.dek_nonce) == 12
    assert len(sealed.wrapped_dek) == 48


def test_each_seal_draws_fresh_dek_and_nonces() -> None:
    first, second = _seal_short(), _seal_short()

    for field in SEALED_BYTES:
        assert getattr(first, field) != getattr(second, field)


@pytest.mark.parametrize("field", SEALED_BYTES)
def test_flipping_any_byte_of_any_field_fails(field: str) -> None:
    sealed = _seal_short()
    original = getattr(sealed, field)

    for index in range(len(original)):
        tampered = bytearray(original)
        tampered[index] ^= 0x80
        changes: dict[str, Any] = {field: bytes(tampered)}
        with pytest.raises(InvalidCiphertext):
            open_sealed(
                dataclasses.replace(sealed, **changes),
                location=_at("acme", "api-key"),
                kek=KEK,
            )


@pytest.mark.parametrize("field", SEALED_BYTES)
def test_truncated_or_extended_field_fails(field: str) -> None:
    sealed = _seal_short()
    original = getattr(sealed, field)

    for changed in (b"", original[:-1], original[1:], original + b"\x00"):
        changes: dict[str, Any] = {field: changed}
        with pytest.raises(InvalidCiphertext):
            open_sealed(
                dataclasses.replace(sealed, **changes),
                location=_at("acme", "api-key"),
                kek=KEK,
            )


@pytest.mark.parametrize(
    ("namespace", "name"),
    [("acme", "other-key"), ("other", "api-key"), ("acme:api", "key"), ("", "acmeapi-key")],
)
def test_sealed_secret_moved_to_another_row_fails(namespace: str, name: str) -> None:
    sealed = _seal_short()

    with pytest.raises(InvalidCiphertext):
        open_sealed(sealed, location=_at(namespace, name), kek=KEK)


def test_moved_secret_never_yields_the_other_rows_plaintext() -> None:
    mine = seal("mine", location=_at("a:b", "c"), kek=KEK, key_version=1)
    theirs = seal("theirs", location=_at("a", "b:c"), kek=KEK, key_version=1)

    with pytest.raises(InvalidCiphertext):
        open_sealed(theirs, location=_at("a:b", "c"), kek=KEK)
    with pytest.raises(InvalidCiphertext):
        open_sealed(mine, location=_at("a", "b:c"), kek=KEK)


def test_length_prefix_keeps_colon_splits_apart() -> None:
    for at in (_at, lambda namespace, name: Location.legacy(namespace, name)):
        assert value_aad(at("a:b", "c")) != value_aad(at("a", "b:c"))
        assert value_aad(at("ab", "")) != value_aad(at("a", "b"))
        assert dek_aad(at("a:b", "c"), 1) != dek_aad(at("a", "b:c"), 1)


def test_a_version_copied_onto_another_version_of_its_secret_fails() -> None:
    older = seal("old value", location=_at("acme", "api-key", 1), kek=KEK, key_version=1)

    for version in (2, 3, 2**32 - 1):
        with pytest.raises(InvalidCiphertext):
            open_sealed(older, location=_at("acme", "api-key", version), kek=KEK)


def test_a_version_copied_onto_another_secret_of_the_same_name_fails() -> None:
    sealed = _seal_short()
    recreated = Location.of_version("acme", "api-key", uuid.uuid4(), 1)

    with pytest.raises(InvalidCiphertext):
        open_sealed(sealed, location=recreated, kek=KEK)


def test_layouts_do_not_open_each_other() -> None:
    current = _seal_short()
    legacy = seal("s3cr3t", location=Location.legacy("acme", "api-key"), kek=KEK, key_version=1)

    with pytest.raises(InvalidCiphertext):
        open_sealed(current, location=Location.legacy("acme", "api-key"), kek=KEK)
    with pytest.raises(InvalidCiphertext):
        open_sealed(legacy, location=_at("acme", "api-key"), kek=KEK)


def test_a_stored_legacy_layout_is_believed_at_version_one_only() -> None:
    assert Location.stored("acme", "k", SECRET_ID, 1, 1) == Location.legacy("acme", "k")
    assert Location.stored("acme", "k", SECRET_ID, 4, 2) == _at("acme", "k", 4)
    for version, layout in ((2, 1), (1, 0), (1, 3)):
        with pytest.raises(InvalidCiphertext):
            Location.stored("acme", "k", SECRET_ID, version, layout)


def test_relabelled_key_version_fails() -> None:
    sealed = _seal_short()

    for version in (0, 2, 2**32 - 1):
        with pytest.raises(InvalidCiphertext):
            open_sealed(
                dataclasses.replace(sealed, key_version=version),
                location=_at("acme", "api-key"),
                kek=KEK,
            )


def test_wrong_kek_fails() -> None:
    with pytest.raises(InvalidCiphertext):
        open_sealed(_seal_short(), location=_at("acme", "api-key"), kek=OTHER_KEK)


def test_invalid_ciphertext_carries_no_message_or_cause() -> None:
    with pytest.raises(InvalidCiphertext) as caught:
        open_sealed(_seal_short(), location=_at("acme", "api-key"), kek=OTHER_KEK)

    assert str(caught.value) == ""
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_rewrap_keeps_value_ciphertext_and_opens_only_under_new_kek() -> None:
    sealed = _seal_short()

    new_wrapped_dek, new_dek_nonce = rewrap(
        wrapped_dek=sealed.wrapped_dek,
        dek_nonce=sealed.dek_nonce,
        location=_at("acme", "api-key"),
        old_kek=KEK,
        old_version=1,
        new_kek=OTHER_KEK,
        new_version=2,
    )
    rewrapped = dataclasses.replace(
        sealed, wrapped_dek=new_wrapped_dek, dek_nonce=new_dek_nonce, key_version=2
    )

    assert new_dek_nonce != sealed.dek_nonce
    assert new_wrapped_dek != sealed.wrapped_dek
    assert open_sealed(rewrapped, location=_at("acme", "api-key"), kek=OTHER_KEK) == "s3cr3t"
    with pytest.raises(InvalidCiphertext):
        open_sealed(rewrapped, location=_at("acme", "api-key"), kek=KEK)
    with pytest.raises(InvalidCiphertext):
        open_sealed(
            dataclasses.replace(rewrapped, key_version=1),
            location=_at("acme", "api-key"),
            kek=OTHER_KEK,
        )


@pytest.mark.parametrize(
    "wrong",
    [
        {"old_kek": OTHER_KEK},
        {"old_version": 2},
        {"location": Location.of_version("other", "api-key", SECRET_ID, 1)},
        {"location": Location.of_version("acme", "other", SECRET_ID, 1)},
        {"location": Location.of_version("acme", "api-key", uuid.uuid4(), 1)},
        {"location": Location.of_version("acme", "api-key", SECRET_ID, 2)},
        {"location": Location.legacy("acme", "api-key")},
        {"dek_nonce": bytes(12)},
    ],
    ids=["old kek", "old version", "namespace", "name", "secret", "version", "layout", "nonce"],
)
def test_rewrap_with_wrong_inputs_fails(wrong: dict[str, Any]) -> None:
    sealed = _seal_short()
    arguments: dict[str, Any] = {
        "wrapped_dek": sealed.wrapped_dek,
        "dek_nonce": sealed.dek_nonce,
        "location": _at("acme", "api-key"),
        "old_kek": KEK,
        "old_version": 1,
        "new_kek": os.urandom(32),
        "new_version": 3,
    }

    with pytest.raises(InvalidCiphertext):
        rewrap(**{**arguments, **wrong})


def test_sealed_secret_repr_shows_only_lengths_and_version() -> None:
    sealed = _seal_short()

    text = repr(sealed)

    assert text == (
        "SealedSecret(ciphertext=<22 bytes>, value_nonce=<12 bytes>, "
        "wrapped_dek=<48 bytes>, dek_nonce=<12 bytes>, key_version=1)"
    )


@pytest.mark.parametrize("kek", [b"", bytes(16), bytes(31), bytes(33)])
def test_kek_of_wrong_length_is_a_programming_error(kek: bytes) -> None:
    with pytest.raises(ValueError, match="KEK must be 32 bytes"):
        seal("v", location=_at("n", "m"), kek=kek, key_version=1)
    with pytest.raises(ValueError, match="KEK must be 32 bytes"):
        open_sealed(_seal_short(), location=_at("acme", "api-key"), kek=kek)


@pytest.mark.parametrize("version", [-1, 2**32])
def test_key_version_outside_u32_is_a_programming_error(version: int) -> None:
    with pytest.raises(ValueError, match="32 unsigned bits"):
        seal("v", location=_at("n", "m"), kek=KEK, key_version=version)


def test_lone_surrogate_value_is_refused_without_echoing_it() -> None:
    value = "top-secret-\ud800"

    with pytest.raises(ValueError) as caught:
        seal(value, location=_at("n", "m"), kek=KEK, key_version=1)

    assert "top-secret" not in str(caught.value)
    assert caught.value.__suppress_context__
