"""Warnings worth reading once: shown the first time, again only when they change.

A sandbox warning (Docker, Flatpak, Snap) holds for an install until its setting
changes; printing it on every sync of every app buries the warnings that are new.
What was shown is remembered per key (``sandbox:<install>``) as a hash of the lines,
in ``<run>/notices.json``.  `pumas app show` prints its warnings every time.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field

from pumasfs.base import atomic
from pumasfs.base.errors import PumasError
from pumasfs.base.jsonfile import read_model
from pumasfs.base.paths import Layout

NOTICES_FILE = "notices.json"


class NoticesFile(BaseModel):
    """``<run>/notices.json``: key -> sha256 of the lines last shown for it."""

    shown: dict[str, str] = Field(default_factory=dict)


def new_notices(layout: Layout, key: str, lines: list[str]) -> list[str]:
    """``lines`` if they were not shown for ``key`` as they are now (then remembered), else []."""
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    path = layout.run_dir / NOTICES_FILE
    try:
        seen = read_model(path, NoticesFile) or NoticesFile()
    except PumasError:
        seen = NoticesFile()  # a damaged file only costs one repeat of each warning
    if seen.shown.get(key) == digest:
        return []
    seen.shown[key] = digest
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(path, seen.model_dump_json(indent=2).encode())
    except OSError:
        pass  # cannot remember: show it, and again next time
    return lines
