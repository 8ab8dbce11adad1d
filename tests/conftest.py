"""Fixtures shared by every test area: a library root and a way to run the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pumasfs.library import Library
from pumasfs.paths import Layout


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "pumas-root"
    Layout(r).ensure()
    return r


@pytest.fixture
def library(root: Path):
    lib = Library(Layout(root))
    yield lib
    lib.close()


@pytest.fixture
def pumas(root: Path, tmp_path: Path):
    """Run the real `pumas` command in a subprocess against the test root."""
    env = dict(os.environ)
    env.pop("PUMAS_HOME", None)
    env["HF_HUB_OFFLINE"] = "1"  # tests that need a hub start their own and override this
    env["HOME"] = str(tmp_path / "home")
    env["XDG_DATA_HOME"] = str(tmp_path / "home" / ".local" / "share")

    def run(*args: str, check: bool = True, env_extra: dict | None = None, input: str | None = None) -> Run:
        cmd = [sys.executable, "-m", "pumasfs", "--root", str(root), *map(str, args)]
        p = subprocess.run(
            cmd, capture_output=True, text=True, errors="replace", env={**env, **(env_extra or {})}, input=input,
            timeout=300,
        )
        result = Run(p.returncode, p.stdout, p.stderr)
        if check and p.returncode != 0:
            raise AssertionError(f"pumas {' '.join(map(str, args))} exited {p.returncode}:\n{p.stderr}{p.stdout}")
        return result

    return run


def assert_one_line_error(run: Run) -> None:
    """The user-error contract: non-zero exit, one line on stderr, no traceback."""
    assert run.returncode != 0, run
    lines = [l for l in run.stderr.splitlines() if l.strip()]
    assert lines, "no error message"
    assert "Traceback" not in run.stderr, run.stderr
    assert lines[-1].startswith("pumas: "), run.stderr
