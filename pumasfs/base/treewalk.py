"""One walk of a folder tree that never follows links and never ``stat``s an entry.

``os.walk`` asks, of every link it meets, whether it leads to a folder: a ``stat`` through
each link, and an app install materialized by pumas holds one link per model.  Here each
entry's type comes from the folder listing itself (``scandir``'s ``d_type``), so walking an
install costs one ``scandir`` per folder, whatever it holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Literal

Kind = Literal["link", "folder", "file"]  # "file": anything else that is not a folder (sockets too)


def walk_tree(root: str, *, skip_hidden: bool = False) -> Iterator[tuple[os.DirEntry[str], str, Kind]]:
    """(entry, its path relative to ``root``, its kind) of everything under ``root``.

    In ``os.walk``'s top-down order: a folder's entries, in listing order, before what is inside
    its subfolders.  A link is never followed, whatever it leads to.  ``skip_hidden`` leaves out
    every name starting with a dot (and what is inside such a folder).  A folder that cannot be
    listed, and an entry whose type cannot be told, are passed over.
    """
    stack: list[tuple[str, str]] = [(root, "")]
    while stack:
        folder, rel_dir = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        subdirs: list[tuple[str, str]] = []
        for e in entries:
            if skip_hidden and e.name.startswith("."):
                continue
            rel = rel_dir + e.name
            try:
                kind: Kind = "link" if e.is_symlink() else "folder" if e.is_dir(follow_symlinks=False) else "file"
            except OSError:
                continue
            if kind == "folder":
                subdirs.append((e.path, rel + "/"))
            yield e, rel, kind
        stack.extend(reversed(subdirs))  # os.walk's top-down order
