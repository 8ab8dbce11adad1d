"""Fixtures shared by every test area: a library root and a way to run the real CLI.

The helpers themselves live in ``tests/support/``; ``Run`` and ``assert_one_line_error``
are re-exported here for the tests that import them from this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pumasfs.base.paths import Layout
from pumasfs.store.library import Library
from tests.support.cli import Run, assert_one_line_error, cli_env, run_pumas

__all__ = ["Run", "assert_one_line_error"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "pumas-root"
    Layout(r).ensure()
    return r


@pytest.fixture
def library(root: Path) -> Iterator[Library]:
    lib = Library(Layout(root))
    yield lib
    lib.close()


@pytest.fixture
def pumas(root: Path, tmp_path: Path):
    """Run the real `pumas` command in a subprocess against the test root."""
    env = cli_env(tmp_path / "home")

    def run(*args: object, check: bool = True, env_extra: dict | None = None, input: str | None = None) -> Run:
        return run_pumas(*args, root=root, env={**env, **(env_extra or {})}, check=check, input=input)

    return run
