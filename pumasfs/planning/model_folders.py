"""The model folders an app install has on disk, read fresh each time.

Custom nodes add folders (``models/ipadapter``, ``models/ultralytics/bbox``)
after an install is registered; reading them when asked means they are seen
without registering again.  The default ComfyUI map is generated from them.
"""

from __future__ import annotations

import os
from pathlib import Path

from pumasfs.planning.installs import AppInstall

# Discovery stops here: model folders are shallow, and a runaway walk into a
# user's nested archive helps nobody.
_MAX_DISCOVERY_DEPTH = 4
_SKIP_DIRS = frozenset({"__pycache__", "node_modules"})


def discover_model_folders(app: AppInstall) -> list[str]:
    """The install's model folders, relative to its models dir (posix), sorted.

    A folder counts when it holds files (ComfyUI ships a ``put_*_here`` file
    in each) or has no subfolders; folders holding only folders are walked
    (``ultralytics/`` -> ``ultralytics/bbox``).  Symlinked folders are not
    followed: they may be links we made, and they are not the app's own.
    """
    out: list[str] = []

    def walk(d: Path, rel: str, depth: int) -> None:
        try:
            entries = list(os.scandir(d))
        except OSError:
            return
        subdirs = sorted(
            e.name for e in entries
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".") and e.name not in _SKIP_DIRS
        )
        has_files = any(not e.is_dir(follow_symlinks=False) and not e.name.startswith(".") for e in entries)
        if rel and (has_files or not subdirs or depth >= _MAX_DISCOVERY_DEPTH):
            out.append(rel)
            return
        for sub in subdirs:
            walk(d / sub, f"{rel}/{sub}" if rel else sub, depth + 1)

    walk(app.models_path, "", 0)
    return sorted(out)
