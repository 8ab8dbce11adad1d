"""The object every command receives: the library root and global flags."""

from __future__ import annotations

from pathlib import Path

import click

from ..paths import Layout


class State:
    """What every command receives: the library root and flags."""

    def __init__(self, root: Path, debug: bool) -> None:
        self.layout = Layout(root)
        self.debug = debug
        self._library = None

    @property
    def library(self):
        from ..library import Library

        if self._library is None:
            self.layout.ensure()
            self._library = Library(self.layout)
        return self._library


pass_state = click.make_pass_decorator(State)
