"""Shared plumbing for the benchmarks: the machine, databases, subprocesses, profiles.

Not a benchmark itself. The scripts in this folder import it as ``bench._common``
(each one puts the repository root on ``sys.path`` first).

Environment (all optional):
  BENCH_DATABASE_URL  PostgreSQL server to create the bench databases on
                      (default postgresql://root@127.0.0.1:5432/test)
  BENCH_REDIS_URL     Redis for the worker queue (default redis://127.0.0.1:6379/5)
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")


def machine() -> str:
    """One line: cores, CPU model, RAM, Python."""
    model = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {model}, {ram:.1f} GiB RAM, Python {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(done: Callable[[], bool], timeout: float, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"still waiting after {timeout:.0f} s")
        time.sleep(step)


def wait_port(
    port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(SERVER_URL)._replace(path="/" + name))


async def create_database(name: str) -> str:
    """(Re)create database ``name`` on the bench server and run the project's migrations."""
    conn = await asyncpg.connect(SERVER_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = database_url(name)
    await asyncio.to_thread(
        subprocess.run,
        [PYTHON, "-m", "piccolo.main", "migrations", "forwards", "all"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
    )
    return url


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(SERVER_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def delete_redis_keys(prefix: str) -> None:
    """Remove this run's queue and lease keys (``<prefix>:*``) from the bench Redis."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


# -- subprocesses -------------------------------------------------------------------

_children: list[subprocess.Popen[bytes]] = []


def spawn(args: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a child in its own process group; it (and its children) die with this script."""
    if log is None:
        out: int | IO[bytes] = subprocess.DEVNULL
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        out = open(log, "wb")
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    if log is not None:
        out.close()  # type: ignore[union-attr]  # the child holds its own copy
    _children.append(proc)
    return proc


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the child's process group (its id is the child's pid), then SIGKILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers left in the group
    if proc in _children:
        _children.remove(proc)


def stop_all() -> None:
    for proc in list(_children):
        stop(proc, timeout=5)


def _on_signal(signum: int, _frame: object) -> None:
    stop_all()
    sys.exit(128 + signum)


atexit.register(stop_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


class TreeSampler(threading.Thread):
    """Once a second: the summed RSS (MB) of a process and its descendants, and their CPU."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.samples: list[float] = []
        self.cpu: dict[int, float] = {}  # pid -> user+system seconds, last seen
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.sample()
            self.halt.wait(1.0)

    def sample(self) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
            self.samples.append(sum(p.memory_info().rss for p in procs) / 2**20)
            for p in procs:
                t = p.cpu_times()
                self.cpu[p.pid] = t.user + t.system
        except psutil.Error:
            pass


# -- profiles -----------------------------------------------------------------------


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    return found if Path(found).exists() else None


def start_profile(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy, in raw (collapsed stacks) format, of ``pid`` and its subprocesses."""
    tool = py_spy()
    if tool is None:
        print("  (py-spy not installed: .venv/bin/pip install py-spy; profile skipped)")
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    return spawn(
        [
            tool,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--rate",
            "200",
            "--format",
            "raw",
            "--duration",
            str(max(1, int(seconds))),
            "--output",
            str(out),
            "--nonblocking",
        ],
        dict(os.environ),
        log=out.with_suffix(".log"),
    )


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def summarize_profile(path: Path, top: int = 14) -> str:
    """Self time and inclusive time per function from a py-spy collapsed-stack file."""
    if not path.exists():
        return f"  (no profile at {path})"
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = []
        for frame in stack.split(";"):
            m = _FRAME.match(frame)
            name = frame if m is None else f"{m['func']} ({_short(m['file'])})"
            frames.append(name)
        if frames:
            own[frames[-1]] += n
            for name in set(frames):
                inclusive[name] += n
    if not total:
        return "  (empty profile)"
    lines = [f"  {total} samples; self time:"]
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines.append("  inclusive time (project and key library frames):")
    keep = ("core/", "web/", "worker/", "asyncpg", "litestar", "dramatiq", "piccolo", "crypt")
    picked = [(k, n) for k, n in inclusive.most_common() if any(s in k for s in keep)]
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in picked[:top]]
    return "\n".join(lines)


def _short(file: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}" if floor else "n/a"
