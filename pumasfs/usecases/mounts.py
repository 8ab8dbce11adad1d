"""`pumas mounts`: the FUSE views of this library that are mounted (or of every library, on request)."""

from __future__ import annotations

from pumasfs.usecases.workspace import Workspace
from pumasfs.view.mounts import ViewListing, list_views


def list_mounts(ws: Workspace, *, all_roots: bool = False) -> ViewListing:
    """The views of ``ws``'s root, counting the others; with ``all_roots`` every view, each with its root.

    Reads the run dirs and the kernel's mount table only: a root without a
    library simply has no views, and nothing is created there.
    """
    return list_views(ws.layout, all_roots=all_roots)
