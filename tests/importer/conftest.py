"""Fixtures for the importer's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Run, cli_env, run_pumas


@pytest.fixture
def pumas_at(tmp_path: Path):
    """Run the real CLI against a library root of the test's choosing (e.g. on a tiny tmpfs)."""
    env = cli_env(tmp_path / "home")

    def run(root: Path, *args: object, check: bool = True) -> Run:
        return run_pumas(*args, root=root, env=env, check=check)

    return run
