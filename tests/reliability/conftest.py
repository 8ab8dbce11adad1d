"""Fixtures for reliability tests: the real CLI, killed at named steps."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.importer.conftest import pumas_at  # noqa: F401 (fixture)
from tests.importer.helpers import model_dirs

KILLED = -signal.SIGKILL


@pytest.fixture
def killed_at(pumas):
    """Run the real CLI with ``PUMAS_TEST_KILL_AT=step``; assert it really died there."""

    def run(step: str, *args: str) -> Run:
        r = pumas(*args, check=False, env_extra={"PUMAS_TEST_KILL_AT": step})
        assert r.returncode == KILLED, f"did not die at {step}: exit {r.returncode}\n{r.stderr}"
        return r

    return run


def library_models(models_dir: Path) -> list[str]:
    """Model folders in the library proper (not staging, not trash), as ids."""
    return sorted(
        p.relative_to(models_dir).as_posix() for p in model_dirs(models_dir) if ".trash" not in p.parts
    )
