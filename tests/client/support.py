"""What the client tests share: the real web process, a scripted HTTP server, markers.

The library is tested against ``uvicorn --factory web.app:create_app``, as a
deployment runs it. Only what the real service cannot be made to answer on
demand (a 503, a ``decryption_failed``, a proxy's HTML page) comes from
:class:`ScriptedServer`, a plain HTTP server that plays back canned answers
and records what it was sent.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from core.keys import define_keys

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
LOGS = ROOT / "test-artifacts" / "client-logs" / str(os.getpid())

ADMIN_TOKEN = "client-admin-" + uuid.uuid4().hex
KEY_1 = bytes(range(32))


def namespace(label: str) -> str:
    """A namespace of the test's own, so tests sharing the web process never meet."""
    return f"client-{label}-{uuid.uuid4().hex[:8]}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_health(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web process exited: see {log}")
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the web process did not answer in time: see {log}")


@contextmanager
def web_process(database_url: str, redis_url: str, label: str) -> Iterator[str]:
    """``uvicorn`` serving the app over the session's database; yields its base URL."""
    LOGS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_STORE_KEYS": define_keys({1: KEY_1}),
        "SECRET_STORE_ADMIN_TOKEN": ADMIN_TOKEN,
        "SECRET_STORE_SESSION_SECRET": uuid.uuid4().hex,
        "SECRET_STORE_REDIS_PREFIX": f"secretstore-client-{uuid.uuid4().hex[:12]}",
        "PYTHONPATH": str(ROOT),
    }
    log = LOGS / f"{label}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(VENV_BIN / "uvicorn"), "--factory", "web.app:create_app",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_for_health(base_url, process, log)
            yield base_url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


# -- a scripted HTTP server ------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Raw bytes instead of JSON (a proxy's page).
    raw: bytes | None = None


def error(status: int, code: str, **extra: Any) -> Answer:
    return Answer(status, {"code": code, "message": f"scripted {code}", **extra})


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    """Answers each request with the next scripted answer (the last one repeats)."""

    def __init__(self, *answers: Answer, port: int | None = None) -> None:
        self.answers = list(answers)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.received.append(
                        Received(self.command, self.path, dict(self.headers.items()), body)
                    )
                    answer = server.answers.pop(0) if len(server.answers) > 1 else server.answers[0]
                payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                content_type = "text/html" if answer.raw is not None else "application/json"
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def secret_body(namespace: str, name: str, **fields: Any) -> dict[str, Any]:
    """An answer body shaped as the service's ``GET`` of one secret."""
    return {
        "secret_id": "s1",
        "namespace": namespace,
        "name": name,
        "value": "v",
        "version": 1,
        "metadata": None,
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
        "expires_at": None,
        "key_version": 1,
        **fields,
    }
