"""``pip install ./clients/python`` alone gives a working client; the root wheel ships it too."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.client.support import ADMIN_TOKEN, ROOT

CLIENT = ROOT / "clients" / "python"

USE = textwrap.dedent(
    """
    import sys
    from secretstore_client import SecretStoreClient, NotFound

    url, token, namespace = sys.argv[1:]
    with SecretStoreClient(url, token) as client:
        client.put(namespace, "INSTALLED", "it works")
        print(client.get_many(namespace)["INSTALLED"])
        try:
            client.get(namespace, "MISSING")
        except NotFound as error:
            print(error.code)
    """
)


@pytest.mark.slow
def test_the_client_installs_alone_in_a_fresh_venv_and_talks_to_the_service(
    tmp_path: Path, service: str, ns: str
) -> None:
    venv = tmp_path / "venv"
    subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True, timeout=120)
    source = tmp_path / "client"
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    listed = subprocess.run(
        [str(venv / "bin" / "pip"), "list", "--format=freeze"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    installed = {line.split("==")[0].lower() for line in listed.splitlines()}
    # httpx and its own dependencies only: no server code came along.
    assert "secretstore-client" in installed and "httpx" in installed
    assert not installed & {"litestar", "piccolo", "secretstore", "pydantic-settings"}

    script = tmp_path / "use.py"
    script.write_text(USE)
    run = subprocess.run(
        [str(venv / "bin" / "python"), str(script), service, ADMIN_TOKEN, ns],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["it works", "not_found"]


@pytest.mark.slow
def test_both_wheels_ship_the_typed_package(tmp_path: Path) -> None:
    root_copy = tmp_path / "root"
    shutil.copytree(
        ROOT,
        root_copy,
        ignore=shutil.ignore_patterns(
            ".*", "build", "*.egg-info", "__pycache__", "bench", "docs", "tests", "test-artifacts"
        ),
    )
    for source in (root_copy, root_copy / "clients" / "python"):
        out = tmp_path / f"wheel-{source.name}"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        (wheel,) = out.glob("*.whl")
        shipped = set(zipfile.ZipFile(wheel).namelist())
        assert {"secretstore_client/py.typed", "secretstore_client/client.py"} <= shipped
        # Not a second copy under its source path.
        assert not any(name.startswith("clients/") for name in shipped)


def test_the_readme_example_runs_against_the_service(
    service: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (CLIENT / "README.md").read_text()
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("SECRET_STORE_URL", service)
    monkeypatch.setenv("SECRET_STORE_TOKEN", ADMIN_TOKEN)

    exec(compile(example, "README.md", "exec"), {})

    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("postgres://db/app ")
    assert printed[1].startswith("DATABASE_URL active None")
