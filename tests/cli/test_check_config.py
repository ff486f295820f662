import asyncio
import base64
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from core.keys import define_keys
from tests.cli.support import clean_env, run_cli
from tests.services import create_database, drop_database

pytestmark = pytest.mark.slow

SESSION_SECRET = "check-config-session-secret-" + secrets.token_hex(16)


def material_forms(raw: bytes) -> list[str]:
    """The spellings of a key that must never appear in output."""
    return [
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
    ]


def lines_by_check(output: str) -> dict[str, str]:
    checks = {}
    for line in output.splitlines():
        status, _, rest = line.partition(" ")
        name, _, _ = rest.strip().partition(":")
        checks[name] = status
    return checks


def test_check_config_passes_with_a_complete_configuration(
    database_url: str, redis_url: str
) -> None:
    kek_1, kek_2 = secrets.token_bytes(32), secrets.token_bytes(32)
    env = clean_env(
        SECRET_STORE_KEYS=define_keys({1: kek_1, 2: kek_2}),
        SECRET_STORE_DEFAULT_TTL_MS="86400000",
        SECRET_STORE_SESSION_SECRET=SESSION_SECRET,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
    )

    result = run_cli("check-config", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert lines_by_check(result.stdout) == {
        "keys": "ok",
        "default TTL": "ok",
        "settings": "ok",
        "sessions": "ok",
        "worker settings": "ok",
        "database": "ok",
        "redis": "ok",
    }
    assert "active version 2" in result.stdout
    for form in material_forms(kek_1) + material_forms(kek_2):
        assert form not in result.stdout + result.stderr
    assert SESSION_SECRET not in result.stdout + result.stderr


def test_check_config_fails_without_a_session_secret(database_url: str, redis_url: str) -> None:
    env = clean_env(
        SECRET_STORE_KEYS=define_keys({1: secrets.token_bytes(32)}),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
    )

    result = run_cli("check-config", env=env)

    assert result.returncode != 0
    assert lines_by_check(result.stdout)["sessions"] == "FAIL"
    assert "SECRET_STORE_SESSION_SECRET" in result.stdout


def test_check_config_reads_a_keys_file(tmp_path: Path, database_url: str, redis_url: str) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(define_keys({3: secrets.token_bytes(32)}) + "\n")
    env = clean_env(
        SECRET_STORE_KEYS_FILE=str(keys_file),
        SECRET_STORE_SESSION_SECRET=SESSION_SECRET,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
    )

    result = run_cli("check-config", env=env)

    assert result.returncode == 0, result.stdout
    assert "versions 3; active version 3" in result.stdout


@pytest.mark.parametrize(
    "make_keys",
    [
        pytest.param(lambda raw: f"1:{base64.b64encode(raw[:16]).decode()}", id="16-byte key"),
        pytest.param(lambda raw: f"1:{base64.urlsafe_b64encode(raw).decode()}", id="url-safe"),
        pytest.param(lambda raw: f"{base64.b64encode(raw).decode()}:1", id="swapped"),
        pytest.param(lambda raw: f"1:{base64.b64encode(raw).decode().rstrip('=')}", id="no pad"),
        pytest.param(
            lambda raw: f"1:{base64.b64encode(raw).decode()},1:{base64.b64encode(raw).decode()}",
            id="duplicate version",
        ),
    ],
)
def test_check_config_fails_on_bad_keys_without_printing_them(
    make_keys: Callable[[bytes], str], database_url: str, redis_url: str
) -> None:
    # Leading bytes whose base64 holds '+' and '/', so the URL-safe spelling
    # always differs from the standard one.
    raw = b"\xfb\xff\xfe" + secrets.token_bytes(29)
    keys = make_keys(raw)
    env = clean_env(SECRET_STORE_KEYS=keys, DATABASE_URL=database_url, REDIS_URL=redis_url)

    result = run_cli("check-config", env=env)

    assert result.returncode == 1
    assert lines_by_check(result.stdout)["keys"] == "FAIL"
    output = result.stdout + result.stderr
    for form in [*material_forms(raw), *material_forms(raw[:16])]:
        assert form[:12] not in output


def test_check_config_fails_without_any_configuration() -> None:
    result = run_cli("check-config", env=clean_env())

    assert result.returncode == 1
    checks = lines_by_check(result.stdout)
    assert checks["keys"] == "FAIL"
    assert checks["database"] == "FAIL"
    assert checks["redis"] == "FAIL"
    assert "DATABASE_URL is not set" in result.stdout


def test_check_config_fails_on_a_bad_default_ttl(database_url: str, redis_url: str) -> None:
    env = clean_env(
        SECRET_STORE_KEYS=define_keys({1: secrets.token_bytes(32)}),
        SECRET_STORE_DEFAULT_TTL_MS="0",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
    )

    result = run_cli("check-config", env=env)

    assert result.returncode == 1
    checks = lines_by_check(result.stdout)
    assert checks["default TTL"] == "FAIL"
    assert checks["settings"] == "ok"


def test_check_config_names_an_unreachable_database_without_its_password() -> None:
    env = clean_env(
        SECRET_STORE_KEYS=define_keys({1: secrets.token_bytes(32)}),
        DATABASE_URL="postgresql://someone:hunter2-not-shown@127.0.0.1:1/nowhere",
        REDIS_URL="redis://:redis-pass-not-shown@127.0.0.1:1/0",
    )

    result = run_cli("check-config", env=env)

    assert result.returncode == 1
    checks = lines_by_check(result.stdout)
    assert checks["database"] == "FAIL"
    assert checks["redis"] == "FAIL"
    assert "hunter2-not-shown" not in result.stdout + result.stderr
    assert "redis-pass-not-shown" not in result.stdout + result.stderr


async def test_check_config_tells_to_migrate_an_empty_database(
    server_url: str, redis_url: str
) -> None:
    empty = await create_database(server_url)
    try:
        env = clean_env(
            SECRET_STORE_KEYS=define_keys({1: secrets.token_bytes(32)}),
            DATABASE_URL=empty,
            REDIS_URL=redis_url,
        )
        result = await asyncio.to_thread(run_cli, "check-config", env=env)
    finally:
        await drop_database(server_url, empty)

    assert result.returncode == 1
    assert lines_by_check(result.stdout)["database"] == "FAIL"
    assert "secretstore migrate" in result.stdout
