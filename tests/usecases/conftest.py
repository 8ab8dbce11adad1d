"""Fixtures for driving use cases directly (no click): a Workspace and a Reporter that records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from materializer.registry import close_shared
from pumasfs.usecases.workspace import Workspace

from ..hub import conftest as hub_fixtures

# The fake hub's fixtures, for the hub use cases (one definition, in tests/hub/conftest.py).
hub = hub_fixtures.hub
hub_env = hub_fixtures.hub_env
in_process_ok = hub_fixtures.in_process_ok


@dataclass
class Recorder:
    """A Reporter that keeps every call, so a test can check what a use case reported."""

    phases: list[tuple[str, int | None, str]] = field(default_factory=list)
    advanced: int = 0
    items: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def start(self, label: str, total: int | None = None, *, unit: str = "bytes") -> None:
        self.phases.append((label, total, unit))

    def advance(self, n: int = 1) -> None:
        self.advanced += n

    def item(self, name: str) -> None:
        self.items.append(name)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


@pytest.fixture
def ws(root: Path) -> Iterator[Workspace]:
    w = Workspace(root)
    yield w
    w.close()
    close_shared()


@pytest.fixture
def reporter() -> Recorder:
    return Recorder()
