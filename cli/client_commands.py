"""``secretstore secrets ...``: the client commands, over the API through ``secretstore_client``.

They find the service through ``SECRET_STORE_URL`` and ``SECRET_STORE_TOKEN``
(CLIENT.md). Exit status: 0 success, 1 the service answered an error (its code
is named on stderr), 2 a usage or configuration error, 3 the service could not
be reached. A value is never taken from the command line (it would show in
``ps`` and the shell's history) and never printed, except by ``get``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from secretstore_client import (
    ConfigurationError,
    SecretStoreClient,
    SecretStoreError,
    Unreachable,
)

EXIT_SERVICE_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3

app = typer.Typer(help="Read and write secrets through the API.", no_args_is_help=True)

NamespaceArg = Annotated[str, typer.Argument(help="The namespace, e.g. acme:prod.")]
NameArg = Annotated[str, typer.Argument(help="The secret's name, e.g. DATABASE_URL.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead.")]


def _exit(message: str, status: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(status)


@contextlib.contextmanager
def _client() -> Iterator[SecretStoreClient]:
    """A client from the environment; every failure becomes one line and its exit status."""
    try:
        with SecretStoreClient() as client:
            yield client
    except ConfigurationError as error:
        _exit(str(error), EXIT_USAGE)
    except Unreachable as error:
        _exit(error.message, EXIT_UNREACHABLE)
    except SecretStoreError as error:
        _exit(f"{error.code}: {error.message}", EXIT_SERVICE_ERROR)


def _timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _as_json(result: Any) -> Any:
    fields = dataclasses.asdict(result)
    return {
        key: _timestamp(value) if isinstance(value, datetime) else value
        for key, value in fields.items()
    }


def _print_json(body: Any) -> None:
    sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")


def _version(version: int | None) -> str:
    # A service older than value versions answers none.
    return "" if version is None else f" v{version}"


def _read_value(from_file: Path | None) -> str:
    if from_file is not None:
        try:
            data = from_file.read_bytes()
        except OSError as error:
            _exit(f"cannot read {from_file}: {error.strerror}", EXIT_USAGE)
    else:
        if sys.stdin.isatty():
            typer.echo("reading the value from standard input (end with Ctrl-D)", err=True)
        data = sys.stdin.buffer.read()
        # `echo value | secretstore secrets put ...` adds one newline the value never had.
        if data.endswith(b"\n"):
            data = data[:-1]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        _exit("the value is not UTF-8 text", EXIT_USAGE)


@app.command("get")
def get(
    namespace: NamespaceArg,
    name: NameArg,
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="Read this earlier version.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the secret's value and a newline on stdout, nothing else."""
    with _client() as client:
        secret = client.get(namespace, name, version=version)
    if as_json:
        _print_json(_as_json(secret))
    else:
        # Not typer.echo: click strips escape sequences when stdout is not a terminal.
        sys.stdout.write(secret.value + "\n")


@app.command("put")
def put(
    namespace: NamespaceArg,
    name: NameArg,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="Read the value from this file, byte for byte."),
    ] = None,
    metadata: Annotated[
        str | None, typer.Option("--metadata", help="A JSON object stored beside the value.")
    ] = None,
    ttl_ms: Annotated[
        int | None, typer.Option("--ttl-ms", min=1, help="Expire after this many ms.")
    ] = None,
    if_version: Annotated[
        int | None,
        typer.Option("--if-version", min=1, help="Write only over this current version."),
    ] = None,
    if_absent: Annotated[
        bool, typer.Option("--if-absent", help="Write only if no such secret exists.")
    ] = False,
) -> None:
    """Create or replace a secret; the value comes from stdin (or --from-file), never argv."""
    if if_version is not None and if_absent:
        _exit("give --if-version or --if-absent, not both", EXIT_USAGE)
    fields: dict[str, Any] = {}
    if metadata is not None:
        try:
            fields["metadata"] = json.loads(metadata)
        except ValueError:
            _exit("--metadata is not valid JSON", EXIT_USAGE)
        if not isinstance(fields["metadata"], dict):
            _exit("--metadata must be a JSON object", EXIT_USAGE)
    if ttl_ms is not None:
        fields["ttl_ms"] = ttl_ms
    value = _read_value(from_file)
    with _client() as client:
        result = client.put(
            namespace, name, value, if_version=if_version, if_absent=if_absent, **fields
        )
    verb = "created" if result.created else "updated"
    typer.echo(f"{verb} {namespace}/{name}{_version(result.version)}")


@app.command("list")
def list_(
    namespace: NamespaceArg,
    deleted: Annotated[bool, typer.Option("--deleted", help="List deleted secrets.")] = False,
    as_json: JsonOption = False,
) -> None:
    """One line per secret: name, state, version, updated_at, expires_at (every page)."""
    with _client() as client:
        items = list(client.list(namespace, deleted=deleted))
    if as_json:
        bodies = [_as_json(info) for info in items]
        for body in bodies:
            for key in ("deleted_at", "restorable_until"):
                if body[key] is None:
                    del body[key]
        _print_json({"items": bodies, "next_cursor": None})
        return
    for info in items:
        version = "-" if info.version is None else str(info.version)
        cells = [info.name, info.state, version, _timestamp(info.updated_at)]
        cells.append(_timestamp(info.expires_at) or "-")
        typer.echo("\t".join(cell or "-" for cell in cells))


@app.command("rm")
def rm(
    namespace: NamespaceArg,
    name: NameArg,
    purge: Annotated[bool, typer.Option("--purge", help="Destroy it now, past restoring.")] = False,
) -> None:
    """Delete a secret (soft: restorable for the recovery window), or purge it."""
    with _client() as client:
        result = client.delete(namespace, name, purge=purge)
    if not result.removed:
        typer.echo(f"{namespace}/{name}: nothing to delete")
    elif result.purged:
        typer.echo(f"purged {namespace}/{name}")
    elif result.restorable_until is not None:
        until = _timestamp(result.restorable_until)
        typer.echo(f"deleted {namespace}/{name} (restorable until {until})")
    else:
        typer.echo(f"deleted {namespace}/{name}")


@app.command("restore")
def restore(namespace: NamespaceArg, name: NameArg) -> None:
    """Bring a deleted secret back, with all its versions."""
    with _client() as client:
        result = client.restore(namespace, name)
    typer.echo(f"restored {namespace}/{name}{_version(result.version)}")


@app.command("history")
def history(namespace: NamespaceArg, name: NameArg, as_json: JsonOption = False) -> None:
    """The secret's versions, newest first (never values)."""
    with _client() as client:
        versions = client.history(namespace, name)
    if as_json:
        _print_json({"items": [_as_json(version) for version in versions], "next_cursor": None})
        return
    for version in versions:
        cells = [f"v{version.version}", _timestamp(version.created_at) or "-"]
        cells.append(version.actor or "-")
        if version.current:
            cells.append("current")
        typer.echo("\t".join(cells))


@app.command("rollback")
def rollback(
    namespace: NamespaceArg,
    name: NameArg,
    version: Annotated[int, typer.Argument(min=1, help="The version whose value to write again.")],
) -> None:
    """Write a new version holding that version's value."""
    with _client() as client:
        result = client.rollback(namespace, name, version)
    written = "" if result.version is None else f" (new version v{result.version})"
    typer.echo(f"rolled back {namespace}/{name} to v{version}{written}")
