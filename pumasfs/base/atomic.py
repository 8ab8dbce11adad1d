"""Durable, atomic file replacement: temporary name, fsync, rename, fsync dir.

A reader (or a crash) sees either the old file or the new one, never a
half-written one.  Temporary names end in ``.pumas-tmp`` (``TMP_SUFFIX``, the one suffix every
temporary name pumas makes ends in) so that scans skip them and
``pumas doctor`` can sweep the ones a killed process left behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

TMP_SUFFIX = ".pumas-tmp"  # every temporary name pumas makes ends so: files, links, staged copies


def temp_name(final: Path) -> Path:
    import secrets  # here, not at the top: `pumas list` imports this module for TMP_SUFFIX only

    return final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes, *, like: os.stat_result | None = None,
                before_replace: Callable[[], None] | None = None) -> None:
    """Temporary name, fsync, rename, fsync of the folder.

    ``like``: give the new file that file's mode and owner (editing a user's
    file keeps them).  ``before_replace``: called between the fsync and the
    rename; raising there leaves the old file as it is (an edit refused
    because the file changed since it was read).
    """
    path = Path(path)
    tmp = temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            if like is not None:
                os.fchmod(fd, like.st_mode & 0o7777)
                try:
                    os.fchown(fd, like.st_uid, like.st_gid)
                except PermissionError:
                    pass  # not root: the file is ours to own anyway
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_json(path: Path, obj: Any) -> None:
    data = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    write_bytes(path, data.encode("utf-8"))
