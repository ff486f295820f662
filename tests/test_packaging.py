"""What ``pip install .`` ships: the dashboard's templates and static files too.

The wheel is built as pip builds it for an install (in an isolated build
environment), from a copy of the source without earlier build output
(setuptools would reuse a stale ``build/``), and must hold every file the
dashboard reads at run time.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow

# Everything the build does not read: caches, earlier builds, tests, benchmarks.
_NOT_SOURCE = (
    ".*",
    "build",
    "*.egg-info",
    "__pycache__",
    "bench",
    "docs",
    "tests",
    "test-artifacts",
)


def test_the_wheel_holds_the_templates_and_static_files(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    needed = [
        path.relative_to(ROOT).as_posix()
        for folder in ("templates", "web/static")
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert any(name.endswith(".html") for name in needed)
    assert sorted(set(needed) - shipped) == []
