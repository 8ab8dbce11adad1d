"""Real tmpfs and NTFS mounts for tests: skipped (saying why) where they cannot be made, always unmounted."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def is_root() -> bool:
    return os.geteuid() == 0


@contextmanager
def tmpfs(path: Path, size: str = "64m", *, before_unmount: Callable[[], None] | None = None) -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted at ``path`` (another filesystem than the test's tmp dir)."""
    if not is_root():
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True, check=False)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    try:
        yield path
    finally:
        if before_unmount is not None:
            before_unmount()
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextmanager
def ntfs(image: Path, mountpoint: Path, size: int = 64 * 1024 * 1024, *,
         before_unmount: Callable[[], None] | None = None) -> Iterator[Path]:
    """A real NTFS volume: an image file formatted by mkfs.ntfs, mounted with ntfs-3g."""
    if not is_root():
        pytest.skip("mounting an NTFS image needs root")
    mountpoint.mkdir(parents=True, exist_ok=True)
    with open(image, "wb") as f:
        f.truncate(size)
    mk = subprocess.run(["mkfs.ntfs", "-F", "-Q", str(image)], capture_output=True, text=True, check=False)
    if mk.returncode != 0:
        pytest.skip(f"mkfs.ntfs failed: {mk.stderr.strip()}")
    p = subprocess.run(["ntfs-3g", str(image), str(mountpoint)], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        pytest.skip(f"cannot mount NTFS with ntfs-3g: {p.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        if before_unmount is not None:
            before_unmount()
        subprocess.run(["umount", str(mountpoint)], check=False, capture_output=True)
        subprocess.run(["umount", "-l", str(mountpoint)], check=False, capture_output=True)
