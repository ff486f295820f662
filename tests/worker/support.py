"""Helpers for the worker tests: fast seeding, real worker processes, waiting."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.crypto import Location, seal
from core.db import fetch, fetch_one
from core.keys import parse_keys
from core.models import Found
from core.store import SecretStore
from tests.keys import KEY_1, KEYS_V1_V2
from tests.support import ROOT, VENV_BIN
from worker.chains import chain_state

# The deployment's keys in every test are KEYS_V1_V2: rows are seeded under
# version 1 and rotated onto version 2.
ROWS = 10_000


def store_v1_v2() -> SecretStore[str, dict[str, Any]]:
    ring = parse_keys(KEYS_V1_V2)
    return SecretStore(lambda: ring)


async def rotation_done() -> bool:
    """No rotation chain runs, and none waits to be resumed."""
    return chain_state("rotation") == "idle"


async def rotated_events() -> tuple[int, int]:
    row = await fetch_one(
        "SELECT count(*) AS events, count(DISTINCT secret_id) AS secrets"
        " FROM audit_events WHERE type = 'rotated'"
    )
    assert row is not None
    return row["events"], row["secrets"]


async def assert_every_row_readable(
    store: SecretStore[str, dict[str, Any]], names: list[str]
) -> None:
    async def read(name: str) -> None:
        result = await store.get("seed", name)
        assert isinstance(result, Found)
        assert result.secret.value == value_of(name)
        assert result.secret.info.key_version == 2

    for start in range(0, len(names), 200):
        await asyncio.gather(*(read(name) for name in names[start : start + 200]))


def batch_records(*workers: Process, chain: str = "rotation") -> list[dict[str, Any]]:
    """The batch log lines of these workers, in the order the batches ran."""
    records = [r for w in workers for r in w.log_records() if r.get("event") == f"{chain} batch"]
    return sorted(records, key=lambda r: r["timestamp"])


def value_of(name: str) -> str:
    return f"value of {name}"


async def seed_secrets(
    count: int,
    *,
    namespace: str = "seed",
    version: int = 1,
    kek: bytes = KEY_1,
    expires_at: datetime | None = None,
    moment: datetime | None = None,
) -> list[str]:
    """Insert ``count`` sealed secrets in one statement; returns their names.

    Each value is :func:`value_of` its name, so a test can read every row back.
    """
    moment = moment or datetime.now().astimezone()
    names = [f"{namespace}-{uuid.uuid4().hex}" for _ in range(count)]
    columns: list[list[Any]] = [[] for _ in range(6)]
    for name in names:
        secret_id = uuid.uuid4()
        location = Location.of_version(namespace, name, secret_id, 1)
        sealed = seal(value_of(name), location=location, kek=kek, key_version=version)
        for column, item in zip(
            columns,
            (
                secret_id,
                name,
                sealed.ciphertext,
                sealed.value_nonce,
                sealed.wrapped_dek,
                sealed.dek_nonce,
            ),
            strict=True,
        ):
            column.append(item)
    await fetch(
        "WITH r AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::bytea[],"
        " $5::bytea[], $6::bytea[]) AS r(id, name, ciphertext, value_nonce, wrapped_dek,"
        " dek_nonce)), s AS (INSERT INTO secrets (id, namespace, name, created_at, updated_at,"
        " expires_at, current_version) SELECT r.id, $7, r.name, $9, $9, $10, 1 FROM r)"
        " INSERT INTO secret_versions (secret_id, version, ciphertext, value_nonce, wrapped_dek,"
        " dek_nonce, key_version, aad_layout, created_at)"
        " SELECT r.id, 1, r.ciphertext, r.value_nonce, r.wrapped_dek, r.dek_nonce, $8, 2, $9"
        " FROM r",
        *columns,
        namespace,
        version,
        moment,
        expires_at,
    )
    return names


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, within: float, interval: float = 0.1
) -> float:
    """Wait for ``condition``; returns the seconds it took, fails the test on timeout."""
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > within:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)
    return time.monotonic() - started


class Process:
    """A real child process in a session of its own, so it can be killed whole."""

    def __init__(self, args: list[str], env: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the process and its children: a machine losing power, as seen by Redis."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._log.close()

    def stop(self, timeout: float = 15) -> None:
        # SIGTERM to the main process only: Dramatiq's main process passes it on
        # to its worker process, which would take a second one as "exit now".
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._log.close()

    def signal_group(self, signum: int) -> None:
        """Signal every process of the group, as honcho and systemd do on stop."""
        os.killpg(self.popen.pid, signum)

    async def ready(self, within: float = 20) -> None:
        async def booted() -> bool:
            return "Worker process is ready for action." in self.log_text()

        await wait_until(booted, within=within, interval=0.05)

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (Dramatiq's own start-up lines are plain text)."""
        records = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def records(self, event: str) -> list[dict[str, Any]]:
        """The log records whose event starts with ``event``."""
        return [r for r in self.log_records() if str(r.get("event", "")).startswith(event)]

    async def logged(
        self, event: str, *, count: int = 1, within: float = 10
    ) -> list[dict[str, Any]]:
        """The records of ``event`` once ``count`` of them reached the log.

        Dramatiq relays its worker process's output through a pipe to its main
        process, so a line can reach the file a moment after what it reports.
        """

        async def arrived() -> bool:
            return len(self.records(event)) >= count

        await wait_until(arrived, within=within, interval=0.05)
        return self.records(event)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def worker_command(threads: int) -> list[str]:
    return [
        str(VENV_BIN / "dramatiq"),
        "worker.actors",
        "--processes",
        "1",
        "--threads",
        str(threads),
    ]


def scheduler_command() -> list[str]:
    return [str(VENV_BIN / "python"), "-m", "worker.scheduler"]


class RedisLine:
    """A TCP proxy in front of Redis that a test can cut, as a network partition would.

    A worker given ``url`` reaches Redis only through it. :meth:`cut` closes
    every connection and refuses new ones until :meth:`mend`.
    """

    def __init__(self, redis_url: str) -> None:
        target = urlsplit(redis_url)
        self._host, self._port = target.hostname or "127.0.0.1", target.port or 6379
        self._path = target.path
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> RedisLine:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"redis://127.0.0.1:{port}{self._path}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()

    def cut(self) -> None:
        self._cut = True
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def mend(self) -> None:
        self._cut = False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        self._writers.update((writer, up_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
