"""``secretstore rotate|status|cleanup``: start the background chains and watch rotation.

The CLI only starts chains; the worker processes run them (worker.chains keeps
each kind a singleton, so starting one that runs already is harmless). Rotation
status is computed here from the database with this process's own key
configuration, which must therefore match the deployment's.
"""

from __future__ import annotations

import asyncio
import enum
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.database import run_with_database
from cli.output import reported_errors, require_env, table
from core.errors import SecretStoreError
from core.models import RotationStatus
from core.settings import DATABASE_URL_VAR, REDIS_URL_VAR, Settings
from core.timeutil import format_timestamp
from core.validation import check_duration_ms

if TYPE_CHECKING:
    from core.runtime import Store
    from worker.chains import ChainKind

CLI_ACTOR = "cli"
# worker.chains.CHAIN_KINDS, named here so that commands not touching Redis
# never import the worker.
CHAINS: tuple[ChainKind, ...] = ("rotation", "cleanup_secrets", "cleanup_events")
STATE_TEXT = {
    "running": "running",
    "resuming": "stalled, resuming",
    "idle": "idle",
    None: "unknown (Redis not reachable)",
}
POLL_SECONDS = 1.0
# How long the watch waits without progress before it suggests that no worker runs.
STALL_HINT_SECONDS = 30.0
WORKER_HINT = "is a worker running (`dramatiq worker.actors`, the Procfile's worker line)?"


class CleanupKind(enum.StrEnum):
    secrets = "secrets"
    events = "events"


def rotate(
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Start the chain and return at once.")
    ] = False,
) -> None:
    """Rewrap every stale row onto the active KEK, in the background; show progress."""
    with reported_errors():
        url = require_env(DATABASE_URL_VAR)
        require_env(REDIS_URL_VAR, ": the rotation chain is started through Redis")
        store = _store()
        from worker import chains

        async def start_and_watch() -> RotationStatus | None:
            # Read first: a key configuration or database this command cannot
            # use fails here, before a chain is started on its behalf.
            await store.rotation_status()
            started = await asyncio.to_thread(chains.start_chain, "rotation", actor=CLI_ACTOR)
            typer.echo(
                "started the rotation chain" if started else "a rotation chain was already running",
                err=True,
            )
            if no_wait:
                return None
            typer.echo("Ctrl-C stops watching; the rotation goes on in the background.", err=True)
            return await _watch(store, chains.chain_state)

        try:
            final = run_with_database(url, start_and_watch)
        except KeyboardInterrupt:
            typer.echo("stopped watching; `secretstore status` shows how far it got", err=True)
            raise typer.Exit(130) from None
    if final is None:
        return
    if final.complete:
        typer.echo(f"rotation complete: every row is on key version {final.active_version}")
        return
    left = _rewrappable(final)
    if left:
        typer.echo(
            f"the rotation chain stopped with {left} rows still to rewrap; {WORKER_HINT} "
            "Then run `secretstore rotate` again.",
            err=True,
        )
    else:
        typer.echo(_incomplete_reason(final), err=True)
    raise typer.Exit(1)


def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Show the rotation status (rows per key version, stale rows, orphans) and the chains."""
    with reported_errors():
        url = require_env(DATABASE_URL_VAR)
        store = _store()

        async def read() -> tuple[RotationStatus, dict[str, datetime | None]]:
            return await store.rotation_status(), await _last_batches()

        current, last_batches = run_with_database(url, read)
        states = {kind: _chain_state(kind) for kind in CHAINS}
    running = None if states["rotation"] is None else states["rotation"] == "running"
    if as_json:
        document = status_document(current, running)
        document["chains"] = {
            kind: {"state": states[kind], "last_batch_at": _timestamp(last_batches.get(kind))}
            for kind in CHAINS
        }
        typer.echo(json.dumps(document, indent=2))
        return
    configured = set(current.configured_versions)
    rows = []
    for version in sorted(set(current.counts) | configured):
        if version == current.active_version:
            state = "active"
        elif version in configured:
            state = "configured, stale" if current.counts.get(version) else "configured, no rows"
        else:
            state = "not configured: orphans"
        rows.append((str(version), str(current.counts.get(version, 0)), state))
    typer.echo(table(("KEY VERSION", "ROWS", "STATE"), rows))
    running_text = {True: "yes", False: "no", None: "unknown (Redis not reachable)"}[running]
    typer.echo(
        f"stale: {current.stale} (unrewrappable: {current.unrewrappable})  "
        f"orphans: {current.orphans}  complete: {'yes' if current.complete else 'no'}  "
        f"rotation running: {running_text}"
    )
    if not current.complete and _rewrappable(current) == 0:
        typer.echo(_incomplete_reason(current))
    typer.echo(
        table(
            ("CHAIN", "STATE", "LAST LINK RAN"),
            [(kind, STATE_TEXT[states[kind]], _ago(last_batches.get(kind))) for kind in CHAINS],
        )
    )


def cleanup(
    kind: Annotated[
        CleanupKind,
        typer.Argument(help="secrets: expired secrets; events: old audit events."),
    ],
    retention_ms: Annotated[
        int | None,
        typer.Option(
            "--retention-ms",
            help="Keep what is younger than this (defaults: 30 days for secrets, 180 for events).",
        ),
    ] = None,
) -> None:
    """Start the background cleanup chain for expired secrets or old audit events."""
    with reported_errors():
        if retention_ms is not None:
            check_duration_ms("retention_ms", retention_ms)
        require_env(REDIS_URL_VAR, ": the cleanup chain is started through Redis")
        from worker import chains

        started = chains.start_chain(
            "cleanup_secrets" if kind is CleanupKind.secrets else "cleanup_events",
            actor=CLI_ACTOR,
            retention_ms=retention_ms,
        )
    typer.echo(
        f"started the {kind.value} cleanup chain"
        if started
        else f"a {kind.value} cleanup chain was already running"
    )


def status_document(current: RotationStatus, running: bool | None) -> dict[str, Any]:
    """GET /api/v1/rotation's shape (API.md), plus the unrewrappable count."""
    return {
        "active_version": current.active_version,
        "configured_versions": list(current.configured_versions),
        "complete": current.complete,
        "counts": {str(version): rows for version, rows in sorted(current.counts.items())},
        "stale": current.stale,
        "orphans": current.orphans,
        "unrewrappable": current.unrewrappable,
        "running": running,
    }


def _rewrappable(current: RotationStatus) -> int:
    """Stale rows the chain can still rewrap (the rest wait for a KEK that unwraps them)."""
    return current.rewrappable


def _incomplete_reason(current: RotationStatus) -> str:
    reasons = []
    if current.orphans:
        reasons.append(
            f"{current.orphans} orphan rows (their key version is no longer configured: "
            "configure it again, then rotate)"
        )
    if current.unrewrappable:
        reasons.append(
            f"{current.unrewrappable} rows their configured KEK does not unwrap "
            "(the material of a version was replaced)"
        )
    return "rotation is not complete: " + "; ".join(reasons) + ". Do not retire any key yet."


def _store() -> Store:
    from core.runtime import build_runtime

    return build_runtime().store


def _chain_state(kind: ChainKind) -> str | None:
    """The state of the ``kind`` chain; None when Redis is not configured or not reachable."""
    if not Settings.from_env().redis_url:
        return None
    from worker import chains

    try:
        return chains.chain_state(kind)
    except SecretStoreError:
        return None


async def _last_batches() -> dict[str, datetime | None]:
    from core.queries import chain_fences

    return await chain_fences.last_batches()


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    seconds = max(0, round((datetime.now(UTC) - moment).total_seconds()))
    return f"{format_timestamp(moment)} ({seconds} s ago)"


async def _watch(store: Store, chain_state: Callable[[ChainKind], str]) -> RotationStatus:
    """Poll until nothing rewrappable is left or the chain ends, drawing a progress bar.

    A chain whose worker died is resumed by the scheduler: watching goes on.
    """
    current = await store.rotation_status()
    total = _rewrappable(current)
    progress = Progress(
        TextColumn("rewrapping stale rows"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    task = progress.add_task("rotation", total=total)
    last_change, last_left, hinted = time.monotonic(), total, False
    with progress:
        while True:
            left = _rewrappable(current)
            if left > total:  # more stale rows than at the start: a key was added meanwhile
                total = left
            progress.update(task, total=total, completed=total - left)
            if left == 0:
                return current
            if await asyncio.to_thread(chain_state, "rotation") == "idle":
                # Read once more: the chain may have finished between the two reads.
                return await store.rotation_status()
            if left != last_left:
                last_change, last_left = time.monotonic(), left
            elif not hinted and time.monotonic() - last_change > STALL_HINT_SECONDS:
                progress.console.print(f"no progress for {STALL_HINT_SECONDS:g} s: {WORKER_HINT}")
                hinted = True
            await asyncio.sleep(POLL_SECONDS)
            current = await store.rotation_status()
