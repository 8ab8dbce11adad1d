"""The library root a use case works on, opened only when needed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pumasfs.base.errors import NotFound, PumasError
from pumasfs.base.paths import JOURNAL_DIR, LIBRARY_MARKER, Layout, default_root

if TYPE_CHECKING:
    from pumasfs.store.index import Index
    from pumasfs.store.library import Library


class Workspace:
    """One library root: its layout, and the library opened on first use.

    Every front end makes one per request (CLI) or per process (web UI) and
    passes it to the use cases.
    """

    def __init__(self, root: Path) -> None:
        self.layout = Layout(root)
        self._library: Library | None = None
        self._index: Index | None = None  # opened alone, for reading use cases

    @property
    def library(self) -> Library:
        from pumasfs.store.library import Library

        if self._library is None:
            from pumasfs.store.libmarker import check_library, missing_root_check

            missing_root_check(self.layout.root)
            check_root(self.layout.root)
            # The library must be itself, whole, before anything is read or written:
            # an unmounted models drive must never look like an empty library.
            check_library(self.layout)
            try:
                self.layout.ensure()
            except OSError as e:
                if not self.layout.models_dir.is_dir():
                    raise
                del e  # a read-only library (a mounted backup): reading commands work without the rest
            self._library = Library(self.layout)
        return self._library

    def require_library(self) -> None:
        """Reading use cases: a root without a library is an error, and nothing is created there."""
        if not self.layout.models_dir.is_dir():
            from pumasfs.store.libmarker import missing_root_check

            missing_root_check(self.layout.root)  # a root used before, now gone: its drive is unplugged
            raise NotFound(f"no library at {self.layout.root} (`pumas import FILE` creates one there; "
                           "or pass --root / set PUMAS_HOME)")

    def reading_index(self) -> Index:
        """The index, for reading, without loading the library's machinery (pydantic stays unloaded)."""
        self.require_library()
        if self._library is not None:
            return self._library.index
        if self._index is None:
            from pumasfs.store.index import Index

            if not self.layout.index_db.exists() or not _at_rest(self.layout):
                # Deleted (the library rebuilds it), or the library has something to check or to
                # finish first (markers, a killed change's intent): the whole library does that.
                return self.library.index
            index = Index(self.layout.index_db)
            if index.reset:  # unreadable and set aside: rebuild it from metadata.json
                index.close()
                self.library.scan()
                return self.library.index
            self._index = index
        return self._index

    def writable_layout(self) -> Layout:
        """The layout, its folders created: for use cases that write (never on a missing drive)."""
        check_root(self.layout.root)
        return self.layout.ensure()

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None
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


def _at_rest(layout: Layout) -> bool:
    """The library is itself and has nothing to finish: both markers name one id, no intent is pending.

    Two small reads and a listing, without pydantic, so that `pumas list` stays quick; anything
    else sends the caller through the whole library, which checks, repairs or refuses.
    """
    import json  # here: `pumas --help` reads no library and need not load it

    try:
        ids = {json.loads((d / LIBRARY_MARKER).read_bytes())["id"] for d in (layout.root, layout.models_dir)}
    except (OSError, ValueError, KeyError, TypeError):
        return False
    try:
        pending = os.listdir(layout.models_dir / JOURNAL_DIR)
    except FileNotFoundError:
        pending = []  # no journal yet: nothing was ever left half-done
    except OSError:
        return False
    return len(ids) == 1 and not pending
