import base64
import re
from pathlib import Path

import pytest

from core.errors import SecretStoreError
from core.keys import (
    KeyRing,
    KeyRingSource,
    define_keys,
    generate_kek,
    load_keyring,
    parse_default_ttl_ms,
    parse_keys,
)

RAW1, RAW2, RAW3 = bytes(range(32)), bytes(range(32, 64)), bytes(range(200, 232))
K1, K2, K3 = (base64.b64encode(raw).decode() for raw in (RAW1, RAW2, RAW3))
URLSAFE = base64.urlsafe_b64encode(bytes(range(224, 256))).decode()
SHORT = base64.b64encode(bytes(range(100, 116))).decode()
LONG = base64.b64encode(bytes(range(100, 133))).decode()
ALMOST = base64.b64encode(bytes(range(100, 131))).decode()


def assert_no_key_material(message: str, text: str) -> None:
    """No 4-character run of anything that sits where a key (or a key pasted as a
    version) could be appears in ``message``; pure-digit versions may be named."""
    for fragment in re.split(r"[,:]", text):
        fragment = fragment.strip()
        if fragment.isdigit():
            continue
        for start in range(len(fragment) - 3):
            assert fragment[start : start + 4] not in message, fragment[start : start + 4]


def invalid_keys(text: str) -> SecretStoreError:
    with pytest.raises(SecretStoreError) as caught:
        parse_keys(text)
    assert caught.value.code == "invalid_keys"
    assert_no_key_material(caught.value.message, text)
    assert_no_key_material(str(caught.value), text)
    assert_no_key_material(repr(caught.value), text)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    return caught.value


KEY_STRING_ERRORS = [
    ("", "SECRET_STORE_KEYS is empty"),
    (" , ,, ", "SECRET_STORE_KEYS is empty"),
    (f"1:{K1},,2:{K2}", "entry 2 is empty"),
    (f"1:{K1},", "entry 2 is empty"),
    (f"1:{K1},{K2}", "entry 2: missing ':' between version and key"),
    (K1, "entry 1: missing ':' between version and key"),
    (f":{K1}", "entry 1: version is missing before ':'"),
    (f"-1:{K1}", "entry 1: version is not a non-negative decimal integer"),
    (f"+1:{K1}", "entry 1: version is not a non-negative decimal integer"),
    (f"1.0:{K1}", "entry 1: version is not a non-negative decimal integer"),
    (f"0x1:{K1}", "entry 1: version is not a non-negative decimal integer"),
    (f"\u0661:{K1}", "entry 1: version is not a non-negative decimal integer"),
    (f"{K1}:1", "entry 1: version is not a non-negative decimal integer"),
    (f"01:{K1}", "entry 1: version has a leading zero"),
    (f"1:{K1},00:{K2}", "entry 2: version has a leading zero"),
    (f"4294967296:{K1}", "entry 1: version is larger than 4294967295"),
    (f"{'9' * 5000}:{K1}", "entry 1: version is larger than 4294967295"),
    ("3:", "entry 1 (version 3): key is missing after ':'"),
    (
        f"1:{K1},3:{URLSAFE}",
        "entry 2 (version 3): key uses the URL-safe base64 alphabet; use standard base64",
    ),
    (f"3:{K1[:20]} {K1[20:]}", "entry 1 (version 3): key contains whitespace"),
    (f"3:{K1[:20]}\t{K1[20:]}", "entry 1 (version 3): key contains whitespace"),
    (
        f"3:{K1[:-2]}!=",
        "entry 1 (version 3): key contains characters outside the standard base64 alphabet",
    ),
    (
        f"3:{K1[:-2]}é=",
        "entry 1 (version 3): key contains characters outside the standard base64 alphabet",
    ),
    (
        f"3:{K1}:{K2}",
        "entry 1 (version 3): key contains characters outside the standard base64 alphabet",
    ),
    (
        f"3:{K1.rstrip('=')}",
        "entry 1 (version 3): key length is not a multiple of 4 (is '=' padding missing?)",
    ),
    (f"3:AA=={K1[4:]}", "entry 1 (version 3): key has misplaced or excess '=' padding"),
    (f"3:{K1[:-4]}A===", "entry 1 (version 3): key has misplaced or excess '=' padding"),
    (f"1:{K2},3:{K1[:-2]}9=", "entry 2 (version 3): key is not canonical standard base64"),
    (f"1:{K1},5:{SHORT}", "entry 2 (version 5): key decodes to 16 bytes, expected 32"),
    (f"5:{ALMOST}", "entry 1 (version 5): key decodes to 31 bytes, expected 32"),
    (f"5:{LONG}", "entry 1 (version 5): key decodes to 33 bytes, expected 32"),
    (f"2:{K1},1:{K2},2:{K3}", "duplicate version 2 (entries 1 and 3)"),
    (f"0:{K1}, 0:{K1}", "duplicate version 0 (entries 1 and 2)"),
]


@pytest.mark.parametrize(("text", "message"), KEY_STRING_ERRORS)
def test_malformed_key_string_is_refused_with_its_own_message(text: str, message: str) -> None:
    assert invalid_keys(text).message == message


def test_keys_parse_in_any_order_and_highest_version_is_active() -> None:
    ring = parse_keys(f"2:{K2},10:{K3},1:{K1}")

    assert ring.versions == (1, 2, 10)
    assert ring.active_version == 10
    assert ring.kek_material(1) == RAW1
    assert ring.kek_material(2) == RAW2
    assert ring.kek_material(10) == RAW3


def test_version_zero_is_a_valid_version() -> None:
    ring = parse_keys(f"0:{K1}")

    assert ring.versions == (0,)
    assert ring.active_version == 0
    assert 0 in ring


def test_whitespace_around_entries_and_separators_is_tolerated() -> None:
    ring = parse_keys(f"  1 : {K1} ,\n 2:{K2}\n")

    assert ring.versions == (1, 2)
    assert ring.kek_material(2) == RAW2


def test_generated_kek_is_what_openssl_prints_and_parses() -> None:
    first, second = generate_kek(), generate_kek()

    assert len(first) == 44 and first.endswith("=")
    assert first != second
    assert parse_keys(f"1:{first}").kek_material(1) == base64.b64decode(first)


def test_unknown_version_raises_key_error() -> None:
    ring = parse_keys(f"1:{K1}")

    assert 2 not in ring
    with pytest.raises(KeyError):
        ring.kek_material(2)
    with pytest.raises(KeyError):
        ring.kek_id(2)


def test_keyring_repr_shows_versions_only() -> None:
    ring = parse_keys(f"1:{K1},2:{K2}")

    assert repr(ring) == "KeyRing(versions=(1, 2), active_version=2)"
    assert_no_key_material(repr(ring), f"{K1},{K2}")


def test_keyring_cannot_be_changed() -> None:
    ring = parse_keys(f"1:{K1}")

    with pytest.raises(AttributeError):
        ring.active_version = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ring.extra = RAW2
    assert ring.active_version == 1
    assert ring.kek_material(1) == RAW1


def test_keyring_refuses_material_of_wrong_length() -> None:
    with pytest.raises(ValueError, match="must be 32 bytes"):
        KeyRing({1: bytes(16)})


def test_kek_id_is_first_8_bytes_of_hmac_and_stable() -> None:
    ring = parse_keys(f"1:{K1},2:{K2}")

    assert ring.kek_id(1).hex() == "176130d43c216c76"
    assert ring.kek_id(2).hex() == "4a5b90174528292f"
    assert parse_keys(f"7:{K1}").kek_id(7) == ring.kek_id(1)


def test_kek_id_differs_between_keys() -> None:
    ring = parse_keys(f"1:{K1},2:{K2},3:{K3}")

    assert len({ring.kek_id(version) for version in ring.versions}) == 3


def test_define_keys_builds_a_string_that_parses_back() -> None:
    text = define_keys({1: RAW1, 2: K2, 3: f" {K3}\n"})

    assert text == f"1:{K1},2:{K2},3:{K3}"
    ring = parse_keys(text)
    assert [ring.kek_material(version) for version in ring.versions] == [RAW1, RAW2, RAW3]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({}, "SECRET_STORE_KEYS is empty"),
        ({1: bytes(range(100, 116))}, "entry 1 (version 1): key decodes to 16 bytes, expected 32"),
        (
            {1: RAW1, 2: URLSAFE},
            "entry 2 (version 2): key uses the URL-safe base64 alphabet; use standard base64",
        ),
        ({-1: RAW1}, "entry 1: version is not a non-negative decimal integer"),
        ({1: RAW1, 2: f"{K2},3:{K3}"}, "version 2: key must not contain ',' or ':'"),
    ],
)
def test_define_keys_validates(keys: dict[int, bytes | str], message: str) -> None:
    with pytest.raises(SecretStoreError) as caught:
        define_keys(keys)

    assert caught.value.code == "invalid_keys"
    assert caught.value.message == message
    for kek in keys.values():
        text = kek if isinstance(kek, str) else base64.b64encode(kek).decode()
        assert_no_key_material(caught.value.message, text)


def test_define_keys_refuses_non_integer_versions() -> None:
    with pytest.raises(TypeError):
        define_keys({"1": RAW1})  # type: ignore[dict-item]


def test_keys_file_is_read_and_stripped(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"1:{K1},2:{K2}\n")

    ring = load_keyring({"SECRET_STORE_KEYS_FILE": str(path)})

    assert ring.versions == (1, 2)


def test_keys_from_environment_variable() -> None:
    ring = load_keyring({"SECRET_STORE_KEYS": f"4:{K1}"})

    assert ring.active_version == 4


def test_both_keys_and_keys_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"1:{K1}")

    with pytest.raises(SecretStoreError) as caught:
        load_keyring({"SECRET_STORE_KEYS": f"1:{K1}", "SECRET_STORE_KEYS_FILE": str(path)})

    assert caught.value.code == "invalid_keys"
    assert caught.value.message == "set only one of SECRET_STORE_KEYS and SECRET_STORE_KEYS_FILE"


def test_missing_configuration_is_refused() -> None:
    with pytest.raises(SecretStoreError) as caught:
        load_keyring({})

    assert caught.value.code == "invalid_keys"
    assert caught.value.message.startswith("SECRET_STORE_KEYS is not set")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "SECRET_STORE_KEYS_FILE '{path}' is empty"),
        (b" \n", "SECRET_STORE_KEYS_FILE '{path}' is empty"),
        (f"1:{K1}\xff".encode("latin-1"), "SECRET_STORE_KEYS_FILE '{path}' is not UTF-8 text"),
        (
            f"1:{K1},2:{SHORT}\n".encode(),
            "entry 2 (version 2): key decodes to 16 bytes, expected 32",
        ),
    ],
    ids=["empty", "blank", "not utf-8", "bad entry"],
)
def test_bad_keys_file_is_refused_without_its_content(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "keys"
    path.write_bytes(content)

    with pytest.raises(SecretStoreError) as caught:
        load_keyring({"SECRET_STORE_KEYS_FILE": str(path)})

    assert caught.value.code == "invalid_keys"
    assert caught.value.message == message.format(path=path)
    assert_no_key_material(caught.value.message, content.decode("latin-1"))
    assert caught.value.__context__ is None or caught.value.__suppress_context__


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_keys_file_names_the_path(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "keys"
    if kind == "directory":
        path.mkdir()

    with pytest.raises(SecretStoreError) as caught:
        load_keyring({"SECRET_STORE_KEYS_FILE": str(path)})

    assert caught.value.code == "invalid_keys"
    assert caught.value.message.startswith(f"SECRET_STORE_KEYS_FILE '{path}' cannot be read")


def test_empty_keys_file_setting_is_refused() -> None:
    with pytest.raises(SecretStoreError, match="SECRET_STORE_KEYS_FILE is set but empty"):
        load_keyring({"SECRET_STORE_KEYS_FILE": ""})


def test_source_reuses_the_keyring_while_configuration_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"1:{K1}")
    from_env = KeyRingSource({"SECRET_STORE_KEYS": f"1:{K1}"})
    from_file = KeyRingSource({"SECRET_STORE_KEYS_FILE": str(path)})

    assert from_env.current() is from_env.current()
    assert from_file.current() is from_file.current()


def test_source_rereads_after_environment_change() -> None:
    environ = {"SECRET_STORE_KEYS": f"1:{K1}"}
    source = KeyRingSource(environ)
    assert source.current().versions == (1,)

    environ["SECRET_STORE_KEYS"] = f"1:{K1},2:{K2}"

    assert source.current().versions == (1, 2)
    assert source.current().kek_material(2) == RAW2


def test_source_rereads_after_file_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"1:{K1}\n")
    source = KeyRingSource({"SECRET_STORE_KEYS_FILE": str(path)})
    assert source.current().versions == (1,)

    path.write_text(f"1:{K1},2:{K2}\n")

    assert source.current().active_version == 2


def test_source_raises_while_bad_and_recovers_after_fix(tmp_path: Path) -> None:
    environ = {"SECRET_STORE_KEYS": f"1:{K1}"}
    source = KeyRingSource(environ)
    source.current()

    environ["SECRET_STORE_KEYS"] = f"1:{K1},2:{SHORT}"
    for _ in range(2):
        with pytest.raises(SecretStoreError) as caught:
            source.current()
        assert caught.value.code == "invalid_keys"

    environ["SECRET_STORE_KEYS"] = f"1:{K1},2:{K2}"
    assert source.current().versions == (1, 2)


def test_source_raises_while_keys_file_is_missing_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    source = KeyRingSource({"SECRET_STORE_KEYS_FILE": str(path)})

    for _ in range(2):
        with pytest.raises(SecretStoreError, match="cannot be read"):
            source.current()

    path.write_text(f"3:{K3}")
    assert source.current().active_version == 3


def test_source_reads_os_environ_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_STORE_KEYS_FILE", raising=False)
    monkeypatch.setenv("SECRET_STORE_KEYS", "not keys")
    source = KeyRingSource()

    with pytest.raises(SecretStoreError):
        source.current()
    monkeypatch.setenv("SECRET_STORE_KEYS", f"6:{K1}")
    assert source.current().active_version == 6


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"SECRET_STORE_DEFAULT_TTL_MS": ""}, None),
        ({"SECRET_STORE_DEFAULT_TTL_MS": "  "}, None),
        ({"SECRET_STORE_DEFAULT_TTL_MS": "1"}, 1),
        ({"SECRET_STORE_DEFAULT_TTL_MS": " 86400000\n"}, 86_400_000),
    ],
)
def test_default_ttl_parses(environ: dict[str, str], expected: int | None) -> None:
    assert parse_default_ttl_ms(environ) == expected


@pytest.mark.parametrize("text", ["0", "-5", "+5", "1.5", "1e3", "abc", "\u0663", "9" * 5000])
def test_default_ttl_must_be_a_positive_integer(text: str) -> None:
    with pytest.raises(SecretStoreError) as caught:
        parse_default_ttl_ms({"SECRET_STORE_DEFAULT_TTL_MS": text})

    assert caught.value.code == "invalid_argument"
    assert caught.value.message == (
        "SECRET_STORE_DEFAULT_TTL_MS must be a positive integer number of milliseconds"
    )
