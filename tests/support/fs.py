"""Looking at folder trees: what is there, to prove nothing else changed."""

from __future__ import annotations

import os
from pathlib import Path


def snapshot(tree: Path) -> dict[str, tuple]:
    """Every entry under ``tree``: (kind, bytes or link target or inode) — to prove nothing else changed."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(tree).as_posix()
            st = p.lstat()
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir",)
            else:
                out[rel] = ("file", p.read_bytes(), st.st_ino)
    return out


def tree(d: Path) -> list[str]:
    """Every file under d (relative, sorted), hidden ones included."""
    return sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file() or p.is_symlink())


def model_dirs(models_dir: Path) -> list[Path]:
    """The model folders of a library (those holding a metadata.json), staging excluded."""
    return sorted(p.parent for p in models_dir.rglob("metadata.json") if ".downloads" not in p.parts)


def disk_links(base: Path) -> dict[str, str]:
    """Every symlink under ``base`` -> the real path it resolves to."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                out[os.path.relpath(p, base)] = os.path.realpath(p)
    return out
