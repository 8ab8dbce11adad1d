"""Downloads killed half-way: the starting state of every resume test."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from .cli import cli_env, pumas_argv
from .processes import kill_when


def staging_dir(root: Path) -> Path:
    """Where downloads are built (the library's staging area)."""
    return root / "shared-resources" / "models" / ".downloads"


def download_killed_midway(*args: object, root: Path, env: Mapping[str, str], at_least: int,
                           timeout: float = 60) -> None:
    """Run ``pumas download ARGS...`` and SIGKILL it once a ``.part`` file holds ``at_least`` bytes.

    The fake serving it should stall past that point (``stall_after``), so the kill lands mid-file.
    """
    proc = subprocess.Popen(pumas_argv("download", *args, root=root), env=cli_env(root.parent / "home", env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def partial() -> bool:
        parts = list(staging_dir(root).rglob("*.part"))
        return bool(parts) and parts[0].stat().st_size >= at_least

    assert kill_when(proc, partial, timeout=timeout, poll=0.05, what="a partial download"), "download ended before it could be killed"
