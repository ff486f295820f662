import asyncio
import json
import subprocess

import pytest

from core.tokens import TokenService
from tests.cli.support import clean_env, run_cli

pytestmark = pytest.mark.slow


async def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_cli, *args, env=clean_env(DATABASE_URL=database_url))


async def create_token(db: str, name: str = "deploy") -> str:
    result = await cli(
        db,
        "token", "create", "--name", name,
        "--namespace", "acme:*", "--namespace", "default",
        "--capability", "read", "--capability", "list",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def test_token_create_prints_a_token_that_authenticates_with_its_scope(db: str) -> None:
    token = await create_token(db)

    principal = await TokenService().authenticate(token)

    assert principal is not None
    assert principal.name == "deploy"
    assert principal.may("read", "acme:production")
    assert principal.may("list", "default")
    assert not principal.may("write", "acme:production")
    assert not principal.may("read", "other")


async def test_token_create_prints_only_the_token_on_stdout(db: str) -> None:
    result = await cli(
        db, "token", "create", "--name", "ci", "--namespace", "*", "--capability", "admin"
    )

    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 1
    assert "only time" in result.stderr


async def test_token_list_shows_tokens_but_never_their_text(db: str) -> None:
    token = await create_token(db, "listed")

    table = await cli(db, "token", "list")
    listing = await cli(db, "token", "list", "--json")

    assert table.returncode == 0
    assert "listed" in table.stdout
    items = json.loads(listing.stdout)["items"]
    assert [(item["name"], item["state"]) for item in items] == [("listed", "active")]
    assert items[0]["namespaces"] == ["acme:*", "default"]
    assert items[0]["created_by"] == "cli"
    assert items[0]["token_id"] in table.stdout
    assert token not in table.stdout + listing.stdout
    assert token[4:20] not in table.stdout + listing.stdout


async def test_token_revoke_refuses_the_token_at_once(db: str) -> None:
    token = await create_token(db)
    listing = await cli(db, "token", "list", "--json")
    token_id = json.loads(listing.stdout)["items"][0]["token_id"]

    revoked = await cli(db, "token", "revoke", token_id)

    assert revoked.returncode == 0, revoked.stderr
    assert await TokenService().authenticate(token) is None
    listing = await cli(db, "token", "list", "--json")
    assert json.loads(listing.stdout)["items"][0]["state"] == "revoked"


async def test_token_revoke_of_an_unknown_id_fails(db: str) -> None:
    result = await cli(db, "token", "revoke", "00000000-0000-0000-0000-000000000000")

    assert result.returncode == 1
    assert "not_found" in result.stderr


async def test_token_create_with_a_ttl_expires(db: str) -> None:
    result = await cli(
        db, "token", "create", "--name", "short", "--namespace", "*",
        "--capability", "read", "--ttl-ms", "1",
    )  # fmt: skip
    assert result.returncode == 0
    await asyncio.sleep(0.05)

    assert await TokenService().authenticate(result.stdout.strip()) is None


async def test_token_create_rejects_an_unknown_capability(db: str) -> None:
    result = await cli(
        db, "token", "create", "--name", "x", "--namespace", "*", "--capability", "root"
    )

    assert result.returncode == 1
    assert "invalid_argument" in result.stderr
    assert result.stdout == ""


async def test_token_create_rejects_a_bad_namespace_pattern(db: str) -> None:
    result = await cli(
        db, "token", "create", "--name", "x", "--namespace", "a*b", "--capability", "read"
    )

    assert result.returncode == 1
    assert "namespace pattern" in result.stderr


def test_token_commands_need_database_url() -> None:
    result = run_cli("token", "list", env=clean_env())

    assert result.returncode == 1
    assert "DATABASE_URL is not set" in result.stderr
