"""Paths and small helpers that tests in more than one folder use."""

from __future__ import annotations

import socket
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def delete_prefix(client: redis.Redis, prefix: str) -> None:
    """Delete every Redis key under ``prefix:`` (a test session's chains, leases and queues)."""
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
