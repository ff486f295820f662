"""The ``secretstore`` command.

``secretstore dev`` runs everything on one machine with no configuration (for
trying and developing). The other commands are for operating a deployment:
they read the same environment as the Procfile's processes (DATABASE_URL,
REDIS_URL, SECRET_STORE_KEYS or SECRET_STORE_KEYS_FILE, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cli import client_commands, maintenance_commands, token_commands
from cli.checks import run_checks
from cli.database import run_migrations
from cli.output import fail, reported_errors, require_env
from core.keys import MAX_KEY_VERSION, define_keys, generate_kek
from core.settings import DATA_DIR_VAR, DATABASE_URL_VAR, PORT_VAR

app = typer.Typer(
    name="secretstore",
    help="A self-hosted, envelope-encrypted secret store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def dev(
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            envvar=DATA_DIR_VAR,
            help="Where the embedded servers, the dev key and the admin token are kept.",
        ),
    ] = Path(".data"),
    port: Annotated[
        int, typer.Option("--port", envvar=PORT_VAR, min=1, max=65535, help="The web port.")
    ] = 8000,
) -> None:
    """Run everything locally with embedded PostgreSQL and Redis. Not for production."""
    from cli.devmode import run_dev
    from cli.embedded import EmbeddedServiceError

    with reported_errors(database=False):
        try:
            code = run_dev(data_dir, port)
        except KeyboardInterrupt:
            code = 130
        except EmbeddedServiceError as error:
            fail(f"the embedded servers could not be started: {error}")
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Apply the database migrations to DATABASE_URL (the Procfile's release step)."""
    with reported_errors():
        url = require_env(DATABASE_URL_VAR)
        result = run_migrations(url, capture=False)
    if result.returncode != 0:
        typer.echo("error: the migrations failed", err=True)
        raise typer.Exit(1)


@app.command()
def keygen(
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            min=0,
            max=MAX_KEY_VERSION,
            help="Print a whole 'N:<base64>' entry for SECRET_STORE_KEYS.",
        ),
    ] = None,
) -> None:
    """Print a new random KEK: 32 bytes in standard base64."""
    kek = generate_kek()
    typer.echo(kek if version is None else define_keys({version: kek}))


@app.command("check-config")
def check_config() -> None:
    """Check the keys, settings, database and Redis of this environment."""
    results = run_checks(os.environ)
    for result in results:
        typer.echo(result.line())
    if not all(result.ok for result in results):
        raise typer.Exit(1)


# Registered after the commands above so that --help lists them in this order.
app.add_typer(token_commands.app, name="token")
app.command("rotate")(maintenance_commands.rotate)
app.command("status")(maintenance_commands.status)
app.command("cleanup")(maintenance_commands.cleanup)
app.add_typer(client_commands.app, name="secrets")


if __name__ == "__main__":
    app(prog_name="secretstore")
