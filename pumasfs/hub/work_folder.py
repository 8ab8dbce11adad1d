"""The resumable work folder of a download: ``.downloads/hub/<org>--<name>@<commit>/``.

Bytes arrive on the library's filesystem (so the import is a rename) and
outlive the process: each file is fetched into a ``.part`` under ``.parts/``
and, once verified, moved into the tree that gets imported.  The folder is a
``staging.LockedDir``: locked while a download runs, kept when it is
interrupted so the next run resumes, swept when nobody holds it and nobody
touched it for two weeks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from pumasfs.base.errors import PumasError
from pumasfs.base.paths import Layout
from pumasfs.hub.cache import HubFile
from pumasfs.store.staging import LockedDir, is_held

PARTS = ".parts"
STALE_WORK_S = 14 * 24 * 3600  # an abandoned resume is kept two weeks


def _slug(repo_id: str) -> str:
    return repo_id.replace("/", "--")


class WorkDir(LockedDir):
    """``.downloads/hub/<org>--<name>@<commit>/``: locked while a download runs, kept for resuming."""

    def __init__(self, layout: Layout, repo_id: str, sha: str) -> None:
        self.root = layout.staging_dir / "hub"
        super().__init__(self.root / f"{_slug(repo_id)}@{sha[:16]}")
        self.tree = self.path / repo_id.rsplit("/", 1)[-1]  # its name names the model
        self.parts = self.path / PARTS

    def open(self) -> WorkDir:
        self.parts.mkdir(parents=True, exist_ok=True)
        self.tree.mkdir(exist_ok=True)
        if not self.lock(wait=False):
            raise PumasError(f"another `pumas download` is already fetching into {self.path}")
        os.utime(self.path)  # its age is what the stale sweep goes by
        return self

    def remove(self) -> None:
        super().remove()
        try:
            self.root.rmdir()
        except OSError:
            pass

    def part(self, f: HubFile) -> Path:
        key = f.sha256 or f.blob_id or hashlib.sha256(f.path.encode()).hexdigest()
        return self.parts / f"{key}.part"

    def final(self, f: HubFile) -> Path:
        return self.tree / f.path


def sweep_stale(layout: Layout, now: float | None = None) -> list[Path]:
    """Work folders nobody holds and nobody touched for two weeks."""
    root = layout.staging_dir / "hub"
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    for d in entries:
        try:
            if not d.is_dir() or now - d.stat().st_mtime < STALE_WORK_S or is_held(d):
                continue
        except OSError:
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed
