"""Real tmpfs and NTFS mounts for tests: skipped (saying why) where they cannot be made, always unmounted."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from pathlib import Path

import pytest


def is_root() -> bool:
    return os.geteuid() == 0


def _run_or_skip(cmd: list[str], why: str) -> None:
    """Run a setup command; where it fails, the test is skipped with ``why`` and the command's own words."""
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        pytest.skip(f"{why}: {p.stderr.strip()}")


@contextmanager
def _mounted(mount: list[str], mountpoint: Path, what: str, unmount: list[list[str]],
             before_unmount: Callable[[], None] | None) -> Iterator[Path]:
    """``mount`` run as root (else a skip saying so), unmounted by ``unmount`` whatever the test did."""
    if not is_root():
        pytest.skip(f"mounting {what} needs root")
    mountpoint.mkdir(parents=True, exist_ok=True)
    _run_or_skip(mount, f"cannot mount {what} here")
    try:
        yield mountpoint
    finally:
        if before_unmount is not None:
            before_unmount()
        for cmd in unmount:
            subprocess.run(cmd, check=False, capture_output=True)


def tmpfs(path: Path, size: str = "64m", *, before_unmount: Callable[[], None] | None = None) -> ContextManager[Path]:
    """A real tmpfs of ``size`` mounted at ``path`` (another filesystem than the test's tmp dir)."""
    return _mounted(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], path, "a tmpfs",
                    [["umount", "-l", str(path)]], before_unmount)


@contextmanager
def ntfs(image: Path, mountpoint: Path, size: int = 64 * 1024 * 1024, *,
         before_unmount: Callable[[], None] | None = None) -> Iterator[Path]:
    """A real NTFS volume: an image file formatted by mkfs.ntfs, mounted with ntfs-3g."""
    if not is_root():
        pytest.skip("mounting an NTFS image needs root")
    with open(image, "wb") as f:
        f.truncate(size)
    _run_or_skip(["mkfs.ntfs", "-F", "-Q", str(image)], "mkfs.ntfs failed")
    with _mounted(["ntfs-3g", str(image), str(mountpoint)], mountpoint, "an NTFS image with ntfs-3g",
                  [["umount", str(mountpoint)], ["umount", "-l", str(mountpoint)]], before_unmount) as mp:
        yield mp
