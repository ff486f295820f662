import base64

import pytest

from core.keys import parse_keys
from tests.cli.support import clean_env, run_cli

pytestmark = pytest.mark.slow


def test_keygen_prints_a_kek_that_the_key_configuration_accepts() -> None:
    result = run_cli("keygen", env=clean_env())

    assert result.returncode == 0
    kek = result.stdout.strip()
    assert len(base64.b64decode(kek, validate=True)) == 32
    assert parse_keys(f"1:{kek}").versions == (1,)


def test_keygen_with_a_version_prints_a_whole_entry() -> None:
    result = run_cli("keygen", "--version", "7", env=clean_env())

    assert result.returncode == 0
    ring = parse_keys(result.stdout.strip())
    assert ring.versions == (7,)
    assert ring.active_version == 7


def test_keygen_draws_a_new_key_every_time() -> None:
    first = run_cli("keygen", env=clean_env()).stdout
    second = run_cli("keygen", env=clean_env()).stdout

    assert first != second


def test_keygen_refuses_a_negative_version() -> None:
    result = run_cli("keygen", "--version", "-1", env=clean_env())

    assert result.returncode != 0
    assert result.stdout == ""
