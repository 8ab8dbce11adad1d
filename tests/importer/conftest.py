"""Fixtures for the importer's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Run


@pytest.fixture
def pumas_at(tmp_path: Path):
    """Run the real CLI against a library root of the test's choosing (e.g. on a tiny tmpfs)."""
    env = dict(os.environ)
    env.pop("PUMAS_HOME", None)
    env["HF_HUB_OFFLINE"] = "1"
    env["HOME"] = str(tmp_path / "home")

    def run(root: Path, *args, check: bool = True) -> Run:
        cmd = [sys.executable, "-m", "pumasfs", "--root", str(root), *map(str, args)]
        p = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=300)
        result = Run(p.returncode, p.stdout, p.stderr)
        if check and p.returncode != 0:
            raise AssertionError(f"pumas {' '.join(map(str, args))} exited {p.returncode}:\n{p.stderr}{p.stdout}")
        return result

    return run
