"""``secretstore token create|list|revoke``: API tokens, straight through the database.

These go to PostgreSQL directly rather than through the API, so an operator
can make the first tokens (and revoke a leaked one) with nothing but
DATABASE_URL, before any web process runs. A token's text is printed once, by
``create``, on stdout alone so that ``TOKEN=$(secretstore token create ...)``
captures it; everything else goes to stderr.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.database import run_with_database
from cli.output import reported_errors, require_env, table
from core.timeutil import format_timestamp, utc_now

if TYPE_CHECKING:
    from core.tokens import TokenInfo, TokenService

CLI_ACTOR = "cli"

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="A label for people, e.g. 'ci-deploy'.")],
    namespaces: Annotated[
        list[str],
        typer.Option("--namespace", help="A namespace or a prefix ending in '*' (repeatable)."),
    ],
    capabilities: Annotated[
        list[str],
        typer.Option(
            "--capability",
            help="read, write, delete, list, audit or admin (repeatable).",
        ),
    ],
    ttl_ms: Annotated[
        int | None, typer.Option("--ttl-ms", help="Expire the token after this many ms.")
    ] = None,
) -> None:
    """Create a token and print its text, once."""
    with reported_errors():
        url = require_env("DATABASE_URL")
        created = run_with_database(
            url,
            lambda: _service().create(
                name, namespaces, capabilities, ttl_ms=ttl_ms, created_by=CLI_ACTOR
            ),
        )
    info = created.info
    typer.echo(
        f"created token {info.token_id} ({info.name}): namespaces "
        f"{', '.join(info.namespaces)}; capabilities {', '.join(info.capabilities)}; "
        f"expires {_when(info.expires_at) or 'never'}",
        err=True,
    )
    typer.echo("This is the only time the token is shown:", err=True)
    typer.echo(created.token)


@app.command("list")
def list_tokens(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """List tokens (never their text)."""
    with reported_errors():
        url = require_env("DATABASE_URL")
        tokens = run_with_database(url, lambda: _service().list())
    now = utc_now()
    if as_json:
        typer.echo(json.dumps({"items": [_as_json(info, now) for info in tokens]}, indent=2))
        return
    rows = [
        (
            info.token_id,
            info.name,
            ",".join(info.namespaces),
            ",".join(info.capabilities),
            _when(info.created_at),
            _when(info.expires_at) or "never",
            info.state(now),
        )
        for info in tokens
    ]
    headers = ("TOKEN ID", "NAME", "NAMESPACES", "CAPABILITIES", "CREATED", "EXPIRES", "STATE")
    typer.echo(table(headers, rows))


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token id from `token list`.")],
) -> None:
    """Revoke a token; every request carrying it is refused from now on."""
    with reported_errors():
        url = require_env("DATABASE_URL")
        info = run_with_database(url, lambda: _service().revoke(token_id))
    typer.echo(f"revoked token {info.token_id} ({info.name}) at {_when(info.revoked_at)}")


def _service() -> TokenService:
    from core.tokens import TokenService

    return TokenService()


def _when(moment: datetime | None) -> str:
    return format_timestamp(moment) if moment is not None else ""


def _as_json(info: TokenInfo, now: datetime) -> dict[str, Any]:
    return {
        "token_id": info.token_id,
        "name": info.name,
        "namespaces": list(info.namespaces),
        "capabilities": list(info.capabilities),
        "created_by": info.created_by,
        "created_at": _when(info.created_at),
        "expires_at": _when(info.expires_at) or None,
        "revoked_at": _when(info.revoked_at) or None,
        "state": info.state(now),
    }
