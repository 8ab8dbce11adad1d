"""Folders on this machine the browser may name for "import from this machine".

The browser is not trusted with paths: a path it sends is resolved (symlinks
and ``..`` included) and refused unless it lies inside a folder the user
allowed when starting `pumas ui` (``--allow DIR``; default: ``~/Downloads``
when it exists, else the home folder).  The library itself is never an
import source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pumasfs.base.errors import NotFound, PumasError

MAX_LISTED = 500


def default_roots() -> list[Path]:
    home = Path.home()
    downloads = home / "Downloads"
    return [downloads if downloads.is_dir() else home]


@dataclass
class Entry:
    name: str
    path: str
    is_dir: bool
    size: int | None


def _absolute(raw: str) -> Path:
    """A path typed in the browser, ``~`` expanded; it must be given, and absolute."""
    if not raw or "\0" in raw:
        raise PumasError("no path given")
    p = Path(os.path.expanduser(raw))
    if not p.is_absolute():
        raise PumasError(f"{raw}: give an absolute path")
    return p


class Allowlist:
    def __init__(self, roots: list[Path], library_root: Path) -> None:
        self.roots = [Path(os.path.realpath(r)) for r in roots]
        self.library_root = Path(os.path.realpath(library_root))

    def check(self, raw: str) -> Path:
        """The real path of ``raw`` if it is inside an allowed folder; else PumasError."""
        real = Path(os.path.realpath(_absolute(raw)))
        if not any(real == r or r in real.parents for r in self.roots):
            allowed = ", ".join(str(r) for r in self.roots)
            raise PumasError(f"{raw}: outside the folders allowed for import ({allowed}; see `pumas ui --allow`)")
        if real == self.library_root or self.library_root in real.parents:
            raise PumasError(f"{raw}: is inside the library")
        if not real.exists():
            raise NotFound(f"{raw}: no such file or folder")
        return real

    def check_target(self, raw: str) -> Path:
        """A folder to create or use (a mountpoint): its parent must be inside an allowed folder."""
        p = _absolute(raw)
        parent = self.check(str(p.parent))
        return parent / p.name

    def listing(self, raw: str | None) -> tuple[Path | None, list[Entry]]:
        """A folder's entries for the folder browser (the allowed roots when ``raw`` is empty)."""
        if not raw and len(self.roots) == 1:
            raw = str(self.roots[0])  # one allowed folder: start inside it
        if not raw:
            return None, [Entry(str(r), str(r), True, None) for r in self.roots]
        folder = self.check(raw)
        if not folder.is_dir():
            raise PumasError(f"{raw}: not a folder")
        entries: list[Entry] = []
        try:
            with os.scandir(folder) as it:
                for e in it:
                    if e.name.startswith("."):
                        continue
                    try:
                        is_dir = e.is_dir()
                        size = None if is_dir else e.stat().st_size
                    except OSError:
                        continue
                    entries.append(Entry(e.name, os.path.join(folder, e.name), is_dir, size))
        except OSError as e:
            raise PumasError(f"{folder}: {e.strerror}") from None
        entries.sort(key=lambda x: (not x.is_dir, x.name.lower()))
        return folder, entries[:MAX_LISTED]

    def parent_of(self, folder: Path) -> Path | None:
        """The folder above, while it is still allowed (None at an allowed root)."""
        if folder in self.roots:
            return None
        parent = folder.parent
        return parent if any(parent == r or r in parent.parents for r in self.roots) else None
