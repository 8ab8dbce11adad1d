"""walk_tree: what os.walk (links not followed) sees, in its order, without a stat per entry."""

from __future__ import annotations

import os
from pathlib import Path

from pumasfs.base.treewalk import walk_tree


def _tree(root: Path) -> None:
    (root / "models/checkpoints/sub").mkdir(parents=True)
    (root / "models/loras").mkdir(parents=True)
    (root / "models/.hidden").mkdir()
    (root / "models/.hidden/inside.safetensors").write_bytes(b"h")
    (root / "models/checkpoints/a.safetensors").write_bytes(b"a")
    (root / "models/checkpoints/sub/b.safetensors").write_bytes(b"b")
    (root / "models/checkpoints/.tmp").write_bytes(b"t")
    (root / "elsewhere").mkdir()
    (root / "elsewhere/c.safetensors").write_bytes(b"c")
    os.symlink(root / "elsewhere", root / "models/loras/linked-folder")  # never followed
    os.symlink(root / "elsewhere/c.safetensors", root / "models/loras/c.safetensors")
    os.symlink(root / "nowhere", root / "models/loras/dangling")


def _os_walk(base: Path, skip_hidden: bool) -> list[tuple[str, str]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        if skip_hidden:
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = os.path.relpath(dirpath, base)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        for name in sorted(dirnames + filenames):
            if skip_hidden and name.startswith("."):
                continue
            p = os.path.join(dirpath, name)
            kind = "link" if os.path.islink(p) else "folder" if os.path.isdir(p) else "file"
            out.append((rel_dir + name, kind))
    return out


def test_walk_tree_sees_what_os_walk_sees_links_unfollowed(tmp_path: Path) -> None:
    _tree(tmp_path)
    base = tmp_path / "models"
    for skip_hidden in (False, True):
        got = [(rel, kind) for _e, rel, kind in walk_tree(str(base), skip_hidden=skip_hidden)]
        # The same entries and kinds; within a folder, listing order (sorted here to compare).
        assert sorted(got) == sorted(_os_walk(base, skip_hidden))
        # Top-down: a folder's own entries come before anything inside it.
        seen: list[str] = []
        for rel, _kind in got:
            parent = rel.rpartition("/")[0]
            assert not parent or parent in seen, (rel, seen)
            seen.append(rel)
    kinds = {rel: kind for _e, rel, kind in walk_tree(str(base))}
    assert kinds["loras/linked-folder"] == "link" and "loras/linked-folder/c.safetensors" not in kinds
    assert kinds["loras/dangling"] == "link" and kinds[".hidden"] == "folder"
    assert ".hidden/inside.safetensors" not in {rel for _e, rel, _k in walk_tree(str(base), skip_hidden=True)}
