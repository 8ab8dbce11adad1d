"""Sandboxes (Flatpak, Snap, containers) in which the links pumas writes would point nowhere.

A sandboxed app sees only part of the host's filesystem, so a link to the
library resolves only if the library is visible inside it too.  Each warning
names the remedy: expose the library, bind-mount it, or use the FUSE content
view, which serves bytes instead of links.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from pumasfs.base.relpath import is_under
from pumasfs.planning.installs import AppInstall

_CONTAINER_CGROUP = re.compile(r"docker|kubepods|containerd|libpod|lxc")


def detect_sandbox(
    app: AppInstall,
    *,
    library_root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    system_root: Path = Path("/"),
) -> list[str]:
    """Warnings for sandboxes in which our symlinks would point nowhere.

    ``environ`` and ``system_root`` exist so tests can fake a host.
    """
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    lib = str(library_root) if library_root else "the library root"
    content = "use `pumas mount --content` (a FUSE view serving file contents, not links)"
    warnings: list[str] = []

    flatpak_base = home / ".var" / "app"
    if is_under(app.path, flatpak_base):
        rel = Path(os.path.abspath(app.path)).relative_to(os.path.abspath(flatpak_base))
        app_id = rel.parts[0] if rel.parts else "<app-id>"
        warnings.append(
            f"{app.name} lives inside a Flatpak sandbox ({flatpak_base}/{app_id}): symlinks to {lib} do not "
            f"resolve there unless it is exposed; run `flatpak override --user --filesystem={lib} {app_id}` "
            f"(a bind mount into the sandbox), or {content}"
        )
    if (system_root / ".flatpak-info").exists():
        warnings.append(
            f"pumas is running inside a Flatpak sandbox: the links it writes for {app.name} use paths as seen "
            f"in this sandbox; expose {lib} with `flatpak override --filesystem=...`, or {content}"
        )
    snap_base = home / "snap"
    if is_under(app.path, snap_base):
        warnings.append(
            f"{app.name} lives inside a Snap's confined home ({snap_base}): symlinks to {lib} outside it do not "
            f"resolve for a strictly confined snap; {content}, or bind-mount {lib} into the snap's folder "
            "(`mount --bind`)"
        )
    if env.get("SNAP"):
        warnings.append(
            f"pumas is running inside a Snap ($SNAP={env['SNAP']}): links it writes may point to paths the "
            f"app cannot see; {content}, or bind-mount {lib} where the app can reach it"
        )
    container = None
    if (system_root / ".dockerenv").exists():
        container = "a Docker container (/.dockerenv)"
    elif (system_root / "run" / ".containerenv").exists():
        container = "a Podman container (/run/.containerenv)"
    else:
        try:
            cgroup = (system_root / "proc" / "1" / "cgroup").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cgroup = ""
        if m := _CONTAINER_CGROUP.search(cgroup):
            container = f"a container (cgroup mentions {m.group(0)})"
    if container:
        warnings.append(
            f"pumas is running inside {container}: if {app.name} runs elsewhere (the host or another "
            f"container), the symlinks pumas writes resolve only where {lib} has the same path; bind-mount it "
            f"at that path wherever the app runs (`-v {lib}:{lib}`), or {content}"
        )
    return warnings
