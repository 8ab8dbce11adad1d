"""`import --move` never loses the user's file, whenever it is killed (README: "Moves are careful").

On one filesystem the source is linked into staging and unlinked only after the commit; across
filesystems it is copied, the copy re-read and checked, and the source deleted only after the commit.
A real process is SIGKILLed at several points; after each kill, either the source is still there with
its bytes, or the library holds a committed model with exactly those bytes — never neither.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pumasfs.base.paths import Layout
from tests.support.cli import cli_env, pumas_argv, run_pumas
from tests.support.fs import model_dirs
from tests.support.mounts import tmpfs
from tests.support.processes import kill_when
from tests.support.safetensors import LORA, write_safetensors

SIZE = 256 * 1024 * 1024  # sparse at the source


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def _move_killed_when(root: Path, src: Path, env: dict[str, str], ready: Callable[[int], bool]) -> bool:
    """Run `pumas import --move SRC`; SIGKILL it as soon as ``ready(pid)``. True if it was killed."""
    proc = subprocess.Popen(pumas_argv("import", "--move", "--no-lookup", src, root=root), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_when(proc, lambda: ready(proc.pid), what="the moment to kill the move"):
        return True
    assert proc.returncode == 0, "the move failed before it could be killed"
    return False


def _models(root: Path, env: dict[str, str]) -> list[dict]:
    return run_pumas("list", "--json", root=root, env=env).json()


def _committed_with(root: Path, sha: str) -> list[Path]:
    """Model folders on disk (the library's truth, whatever the index says) holding these bytes."""
    out = []
    for d in model_dirs(Layout(root).models_dir):
        meta = json.loads((d / "metadata.json").read_text())
        if (meta.get("hashes") or {}).get("sha256") == sha:
            out.append(d / meta["primary_file"])
    return out


def _assert_never_lost(root: Path, src: Path, sha: str) -> bool:
    """The source is intact, or a committed model holds its bytes. True when the move was committed."""
    committed = _committed_with(root, sha)
    if committed:
        [lib_file] = committed
        assert lib_file.stat().st_size == SIZE and _sha256(lib_file) == sha
        return True
    assert src.is_file(), "the source is gone and no model holds its bytes"
    assert src.stat().st_size == SIZE and _sha256(src) == sha
    return False


def _size(p: Path) -> int:
    """A file's size, 0 once it is gone (the importer renames and sweeps while we look)."""
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return 0


def _links_to(p: Path) -> int:
    try:
        return p.stat().st_nlink
    except FileNotFoundError:
        return 0


def _partial_copy(root: Path) -> bool:
    staging = Layout(root).staging_dir
    try:
        return any(_size(p) > 0 for p in staging.glob("import-*/model/.*.pumas-tmp"))  # atomic.TMP_SUFFIX
    except FileNotFoundError:
        return False


def _reading(pid: int, src: Path) -> bool:
    """The process holds ``src`` open and has read part of it, not all (/proc/PID/fdinfo's pos)."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(src):
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    pos = int(next(line.split()[1] for line in f if line.startswith("pos:")))
                if 0 < pos < SIZE:
                    return True
    except (OSError, StopIteration):  # the process or the descriptor went meanwhile
        pass
    return False


def _committed(root: Path) -> bool:
    """A model folder with its metadata.json is in place (os.walk: folders vanishing meanwhile are fine)."""
    for dirpath, dirnames, filenames in os.walk(Layout(root).models_dir):
        dirnames[:] = [d for d in dirnames if d != ".downloads"]
        if "metadata.json" in filenames:
            return True
    return False


def test_move_across_filesystems_survives_sigkill_at_every_stage(root: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    with tmpfs(tmp_path / "other-fs", "400m") as other:
        src = write_safetensors(other / "big.safetensors", LORA, total_size=SIZE)
        sha = _sha256(src)
        ino = src.stat().st_ino
        # Mid-copy: the source is untouched (same inode, same bytes) and no model exists.
        assert _move_killed_when(root, src, env, lambda _pid: _partial_copy(root)), "never caught the copy"
        assert not _assert_never_lost(root, src, sha) and src.stat().st_ino == ino
        # The moment the source goes, or the model appears: whichever comes first, the other must hold.
        _move_killed_when(root, src, env, lambda _pid: not src.exists() or _committed(root))
        assert _assert_never_lost(root, src, sha)
        # Repaired by the documented command: the library then lists exactly one copy.
        run_pumas("doctor", "--fix", root=root, env=env, check=False)
        assert [m["hashes"]["sha256"] for m in _models(root, env)] == [sha]


def test_move_on_one_filesystem_survives_sigkill_at_every_stage(root: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    src = write_safetensors(tmp_path / "downloads" / "big.safetensors", LORA, total_size=SIZE)
    sha = _sha256(src)
    ino = src.stat().st_ino
    # While it hashes the source (before linking it anywhere): it has read some of it, not all.
    assert _move_killed_when(root, src, env, lambda pid: _reading(pid, src) and not _committed(root)), \
        "never caught the hashing"
    assert not _assert_never_lost(root, src, sha) and src.stat().st_ino == ino
    # Once the source is linked into staging (two names for one inode), or the moment it goes, or the
    # model appears: whichever comes first.
    _move_killed_when(root, src, env, lambda _pid: _links_to(src) != 1 or _committed(root))
    if _assert_never_lost(root, src, sha):
        [moved] = _committed_with(root, sha)
        assert moved.stat().st_ino == ino  # moved, not copied
    # A killed run's staging link is swept; the user's file is then a single name again.
    run_pumas("doctor", "--fix", root=root, env=env, check=False)
    if not _committed(root):
        assert src.stat().st_nlink == 1
    assert [m["hashes"]["sha256"] for m in _models(root, env)] == ([sha] if _committed(root) else [])


_COUNT_READS = """
import atexit, runpy, sys

def _report():
    with open("/proc/self/io") as f:
        rchar = next(line.split()[1] for line in f if line.startswith("rchar:"))
    sys.stderr.write(f"RCHAR={rchar}\\n")

atexit.register(_report)
sys.argv = ["pumas", *sys.argv[1:]]
runpy.run_module("pumasfs", run_name="__main__", alter_sys=True)
"""


def _bytes_read_by_import(root: Path, src: Path, env: dict[str, str], *options: str) -> int:
    """Run `pumas import [OPTIONS] SRC` and return how many bytes the process read (/proc/self/io rchar)."""
    p = subprocess.run([sys.executable, "-c", _COUNT_READS, "--root", str(root), "import", "--no-lookup",
                        *options, str(src)], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stderr
    return int(p.stderr.rsplit("RCHAR=", 1)[1].split()[0])


def test_move_across_filesystems_rereads_the_copy_before_deleting_the_source(root: Path, tmp_path: Path) -> None:
    """The copy is read back (after its pages are dropped) and checked before the source goes: a move reads
    the bytes twice where a copy reads them once."""
    env = cli_env(tmp_path / "home")
    size = 64 * 1024 * 1024
    with tmpfs(tmp_path / "other-fs", "200m") as other:
        copied = write_safetensors(other / "copied.safetensors", LORA, total_size=size, fill=b"\x01")
        moved = write_safetensors(other / "moved.safetensors", LORA, total_size=size, fill=b"\x02")
        sha = _sha256(moved)
        by_copy = _bytes_read_by_import(root, copied, env)
        by_move = _bytes_read_by_import(root, moved, env, "--move")
        assert copied.exists() and not moved.exists()
        [lib_file] = _committed_with(root, sha)
        assert _sha256(lib_file) == sha
    assert by_move - by_copy > 0.9 * size, (by_copy, by_move)
