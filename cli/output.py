"""How commands report failure: one ``error: ...`` line on stderr and exit status 1.

Messages come from core's errors, whose texts never carry a value or key
material, or from connection errors, which name hosts and databases only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import redis
import typer

from core.errors import SecretStoreError
from core.settings import DATABASE_URL_VAR, REDIS_URL_VAR, Settings


class CliError(Exception):
    """A failure the command explains in one line."""


def fail(message: str) -> NoReturn:
    raise CliError(message)


def require_env(name: str, hint: str = "") -> str:
    """The URL ``name`` names (``DATABASE_URL`` or ``REDIS_URL``); fails when it is not set."""
    settings = Settings.from_env()
    value = {DATABASE_URL_VAR: settings.database_url, REDIS_URL_VAR: settings.redis_url}[name]
    if not value:
        fail(f"{name} is not set{hint}")
    return value


@contextlib.contextmanager
def reported_errors(*, database: bool = True) -> Iterator[None]:
    """Turn the failures a command can explain into one line and exit status 1.

    With ``database``, an OS-level error is taken to mean that PostgreSQL cannot
    be reached, which is what it means for commands that only talk to it.
    """
    try:
        yield
    except CliError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    except SecretStoreError as error:
        typer.echo(f"error: {error.code}: {error.message}", err=True)
        raise typer.Exit(1) from None
    except asyncpg.UndefinedTableError:
        typer.echo(
            "error: the database has no secret store tables; run `secretstore migrate`", err=True
        )
        raise typer.Exit(1) from None
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        typer.echo(f"error: unavailable: the database refused: {describe(error)}", err=True)
        raise typer.Exit(1) from None
    except OSError as error:  # TimeoutError and ConnectionError included
        prefix = "unavailable: cannot reach the database: " if database else ""
        typer.echo(f"error: {prefix}{describe(error)}", err=True)
        raise typer.Exit(1) from None
    except redis.RedisError as error:
        typer.echo(f"error: unavailable: cannot reach Redis: {describe(error)}", err=True)
        raise typer.Exit(1) from None


def describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


_SECRET_QUERY_PARAMS = {"password", "passfile", "sslpassword"}


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, fit for a terminal or a log."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            name = user.partition(":")[0]
            netloc = f"{name}:***@{host}"
        query = urlencode(
            [
                (key, "***" if key.lower() in _SECRET_QUERY_PARAMS else value)
                for key, value in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe="/*",
        )
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:
        return "(unparseable URL)"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns padded to their widest cell, never wrapped, so ids can be copied whole."""
    lines = [list(headers), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
