"""The library root a use case works on, opened only when needed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NotFound, PumasError
from ..paths import Layout, default_root

if TYPE_CHECKING:
    from ..library import Library


class Workspace:
    """One library root: its layout, and the library opened on first use.

    Every front end makes one per request (CLI) or per process (web UI) and
    passes it to the use cases.
    """

    def __init__(self, root: Path) -> None:
        self.layout = Layout(root)
        self._library: Library | None = None

    @property
    def library(self) -> Library:
        from ..library import Library

        if self._library is None:
            check_root(self.layout.root)
            self.layout.ensure()
            self._library = Library(self.layout)
        return self._library

    def writable_layout(self) -> Layout:
        """The layout, its folders created: for use cases that write (never on a missing drive)."""
        check_root(self.layout.root)
        return self.layout.ensure()

    def close(self) -> None:
        if self._library is not None:
            self._library.close()
            self._library = None


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
        raise NotFound(f"library root {root} does not exist and neither does {root.parent} (is its drive mounted?)")
