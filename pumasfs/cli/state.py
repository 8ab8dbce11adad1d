"""The object every command receives: the library root and global flags."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import PumasError
from ..paths import Layout, default_root


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
            check_root(self.layout.root)
            self.layout.ensure()
            self._library = Library(self.layout)
        return self._library


pass_state = click.make_pass_decorator(State)


def check_root(root: Path) -> None:
    """Refuse to create a library on a drive that is not there.

    A root whose parent folder is missing usually lives on an unmounted
    drive; creating it would silently fill the system disk instead.  Only the
    XDG default is created with its parents.
    """
    if root.exists():
        if not root.is_dir():
            raise PumasError(f"library root {root} is not a folder")
        return
    if root != default_root().absolute() and not root.parent.is_dir():
        raise PumasError(f"library root {root} does not exist and neither does {root.parent} (is its drive mounted?)")
