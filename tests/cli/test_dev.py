"""``secretstore dev`` end to end, as a person runs it: no configuration at all.

One data directory, two runs. The first run stores a secret through the API
with the printed admin token and is stopped with Ctrl-C (SIGINT to its process
group, as a terminal sends it). Before the second run a key version is added to
the development key file, the runbook's first step; the second run must find
the same token and secret, and ``secretstore rotate`` against it must move the
secret onto the new version. Every line both runs printed, and the embedded
servers' own logs, are then searched for the secret values and key material.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from core.keys import generate_kek
from tests.cli.support import clean_env, run_cli
from tests.support import ROOT, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

READY_TIMEOUT = 240.0
STOP_TIMEOUT = 90.0
NAMESPACE = "dev-test"
NAME = "DATABASE_PASSWORD"
TOKEN_LINE = re.compile(r"admin token:\s+(sst_\S+)")


def is_gone(pid: int) -> bool:
    # A zombie counts as gone: where init does not reap orphans, a stopped
    # server that was reparented to it stays one.
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


@dataclass
class DevRun:
    """One ``secretstore dev`` child process and what it printed."""

    data_dir: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    descendants: list[int] = field(default_factory=list)
    postmaster_pid: int | None = None
    exit_code: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "dev",
                 "--data-dir", str(self.data_dir), "--port", str(self.port)],
                cwd=ROOT,
                env=clean_env(LOG_LEVEL="DEBUG"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so that SIGINT to the group is what a
                # terminal's Ctrl-C does, and nothing reaches the test runner.
                start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_ready(self, client: httpx.Client) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"secretstore dev exited early:\n{self.output()[-5000:]}")
            try:
                if client.get(f"{self.base_url}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        else:
            pytest.fail(f"secretstore dev was not ready in time:\n{self.output()[-5000:]}")
        # The banner comes from a watcher that polls health too: wait for it.
        while not TOKEN_LINE.search(self.output()) and time.monotonic() < deadline:
            time.sleep(0.1)

    def admin_token(self) -> str:
        found = TOKEN_LINE.search(self.output())
        assert found, self.output()[-3000:]
        return found.group(1)

    def interrupt(self) -> None:
        """Ctrl-C, and wait for the command to finish."""
        assert self.process is not None
        self.descendants = [p.pid for p in psutil.Process(self.process.pid).children(True)]
        pid_file = self.data_dir / "postgres" / "postmaster.pid"
        self.postmaster_pid = int(pid_file.read_text().split()[0])
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.exit_code = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            pytest.fail(f"secretstore dev did not stop on SIGINT:\n{self.output()[-5000:]}")

    def kill_leftovers(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class DevScenario:
    data_dir: Path
    first: DevRun
    second: DevRun
    value: str
    new_value: str
    first_read: dict[str, object]
    second_read: dict[str, object]
    after_rotation: dict[str, object]
    rotate: subprocess.CompletedProcess[str]
    status_after: subprocess.CompletedProcess[str]


def dev_env_file(data_dir: Path) -> dict[str, str]:
    """The variables ``dev.env`` exports, read the way a shell reads them."""
    values = {}
    for line in (data_dir / "dev.env").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, quoted = line.partition("=")
            (values[name],) = shlex.split(quoted)
    return values


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevScenario]:
    base = tmp_path_factory.mktemp("dev")
    data_dir = base / "data"
    first = DevRun(data_dir, base / "first.log")
    second = DevRun(data_dir, base / "second.log")
    value = f"first value {secrets.token_hex(16)} ünïcødé"
    new_value = f"second value {secrets.token_hex(16)}"
    url = f"/api/v1/secrets/{NAMESPACE}/{NAME}"
    try:
        with httpx.Client(timeout=30.0, trust_env=False) as client:
            first.start()
            first.wait_until_ready(client)
            auth = {"Authorization": f"Bearer {first.admin_token()}"}
            put = client.put(first.base_url + url, json={"value": value}, headers=auth)
            assert put.status_code == 201, put.text
            first_read = client.get(first.base_url + url, headers=auth).json()
            first.interrupt()

            # The runbook's first step: add a key version.
            keys_file = data_dir / "dev-keys"
            keys_file.write_text(keys_file.read_text().strip() + f",2:{generate_kek()}\n")

            second.start()
            second.wait_until_ready(client)
            auth = {"Authorization": f"Bearer {second.admin_token()}"}
            second_read = client.get(second.base_url + url, headers=auth).json()
            rotate = run_cli("rotate", env=clean_env(**dev_env_file(data_dir)), timeout=180)
            status_after = run_cli("status", "--json", env=clean_env(**dev_env_file(data_dir)))
            after_rotation = client.get(second.base_url + url, headers=auth).json()
            put = client.put(second.base_url + url, json={"value": new_value}, headers=auth)
            assert put.status_code == 200, put.text
            second.interrupt()
    finally:
        first.kill_leftovers()
        second.kill_leftovers()
    yield DevScenario(
        data_dir, first, second, value, new_value,
        first_read, second_read, after_rotation, rotate, status_after,
    )  # fmt: skip


def test_dev_serves_the_api_to_the_printed_admin_token(scenario: DevScenario) -> None:
    assert scenario.first_read["value"] == scenario.value
    assert scenario.first_read["key_version"] == 1


def test_dev_warns_that_it_is_not_for_production(scenario: DevScenario) -> None:
    output = scenario.first.output()
    assert "NOT for production" in output
    assert f"http://127.0.0.1:{scenario.first.port}/" in output


def test_dev_stops_every_process_it_started_on_ctrl_c(scenario: DevScenario) -> None:
    for run in (scenario.first, scenario.second):
        assert run.exit_code is not None
        assert len(run.descendants) >= 4  # web, worker, scheduler, Redis (and shells)
        assert [pid for pid in run.descendants if not is_gone(pid)] == []
        assert run.postmaster_pid is not None and is_gone(run.postmaster_pid)


def test_a_second_dev_run_finds_the_same_token_and_secrets(scenario: DevScenario) -> None:
    assert scenario.second.admin_token() == scenario.first.admin_token()
    assert scenario.second_read["value"] == scenario.value
    assert scenario.second_read["secret_id"] == scenario.first_read["secret_id"]


def test_rotation_against_dev_completes_onto_the_added_key(scenario: DevScenario) -> None:
    assert scenario.rotate.returncode == 0, scenario.rotate.stdout + scenario.rotate.stderr
    assert "rotation complete" in scenario.rotate.stdout
    assert '"complete": true' in scenario.status_after.stdout
    assert scenario.after_rotation["key_version"] == 2
    assert scenario.after_rotation["value"] == scenario.value
    assert scenario.after_rotation["updated_at"] == scenario.first_read["updated_at"]


def test_dev_keeps_its_key_and_token_files_private(scenario: DevScenario) -> None:
    for name in ("dev-keys", "admin-token", "session-secret", "dev.env"):
        assert (scenario.data_dir / name).stat().st_mode & 0o077 == 0, name


def test_no_log_of_a_dev_run_contains_a_value_or_key_material(scenario: DevScenario) -> None:
    logs = {
        "first run": scenario.first.output(),
        "second run": scenario.second.output(),
        "rotate": scenario.rotate.stdout + scenario.rotate.stderr,
        "PostgreSQL": (scenario.data_dir / "postgres" / "server.log").read_text(errors="replace"),
        "Redis": (scenario.data_dir / "redis" / "redis.log").read_text(errors="replace"),
    }
    forbidden = {"first value": scenario.value, "second value": scenario.new_value}
    keys_text = (scenario.data_dir / "dev-keys").read_text().strip()
    for entry in keys_text.split(","):
        version, _, kek = entry.partition(":")
        raw = base64.b64decode(kek)
        forbidden[f"KEK {version}"] = kek
        forbidden[f"KEK {version} (url-safe)"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        forbidden[f"KEK {version} (hex)"] = raw.hex()
    forbidden["key file"] = keys_text

    leaks = [
        f"{what} in the {where} log"
        for where, text in logs.items()
        for what, secret in forbidden.items()
        if secret in text
    ]
    assert leaks == []
    # The admin token is printed on purpose, in the banner, and nowhere else.
    token = scenario.first.admin_token()
    for where, text in logs.items():
        for line in text.splitlines():
            if token in line:
                assert TOKEN_LINE.search(line), f"admin token outside the banner in {where}"
