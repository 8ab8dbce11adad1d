"""How a use case tells its caller what it is doing.

The CLI turns these calls into a progress bar on a terminal (and nothing in a
pipe); the web UI turns them into server-sent events.  A use case never knows
which.
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Progress and warnings from a running use case."""

    def start(self, label: str, total: int | None = None, *, unit: str = "bytes") -> None:
        """A new phase begins (``total`` is None when unknown)."""

    def advance(self, n: int = 1) -> None:
        """``n`` more units of the current phase are done."""

    def item(self, name: str) -> None:
        """The current phase is now working on ``name`` (a file, a model)."""

    def warn(self, message: str) -> None:
        """Something the user should read; the work goes on."""


class NullReporter:
    """Reports nothing: the default for every use case."""

    def start(self, label: str, total: int | None = None, *, unit: str = "bytes") -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def item(self, name: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass


class Cancelled(Exception):
    """Raised inside a use case when its caller asked it to stop."""


NULL_REPORTER: Reporter = NullReporter()
