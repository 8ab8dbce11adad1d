"""The one test of a path that must stay inside the folder it is joined to.

Plan paths, map targets, hub file paths and view entries all come from data
(a map file, a hub listing, a metadata.json) and are joined to a real folder;
each must be relative and made of ordinary names only.
"""

from __future__ import annotations

import os
from pathlib import Path


def is_safe_relpath(path: str) -> bool:
    """A relative posix path of ordinary names: no absolute start, no '', '.' or '..' part, no NUL.

    String tests only (they run in C): this runs once per link of a 10,000-link plan.
    """
    q = f"/{path}/"
    return bool(path) and "//" not in q and "/./" not in q and "/../" not in q and "\0" not in path


def is_under(path: str | os.PathLike[str], parent: str | os.PathLike[str]) -> bool:
    """``path`` is ``parent`` or lies inside it, by absolute name (symlinks are not resolved)."""
    try:
        Path(os.path.abspath(path)).relative_to(os.path.abspath(parent))
    except ValueError:
        return False
    return True
