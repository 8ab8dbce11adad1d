"""The scan `sync` and `doctor` run to say what is not managed yet skips sorting the links
(``sort_links=False``: no readlink each) and still finds exactly the real files a full scan finds."""

from __future__ import annotations

import os
from pathlib import Path

from pumasfs.adopt.scan import ScanResult, scan_install
from pumasfs.planning.installs import load_apps
from pumasfs.planning.map_selection import select_map
from pumasfs.usecases.adopt import adopt, unmanaged
from pumasfs.usecases.workspace import Workspace


def candidates(scan: ScanResult) -> list[tuple[str, list[str]]]:
    return sorted((str(c.unit.primary_source), sorted(str(f.source) for f in c.unit.files)) for c in scan.candidates)


def both_scans(ws: Workspace) -> dict[str, tuple[ScanResult, ScanResult]]:
    models_real = os.path.realpath(ws.layout.models_dir)
    out = {}
    for app in load_apps(ws.layout).apps:
        tmap = select_map(ws.layout, app).map
        out[app.name] = (scan_install(app, tmap, models_real), scan_install(app, tmap, models_real, sort_links=False))
    return out


def test_the_quick_scan_finds_the_real_files_of_a_full_scan_before_and_after_adoption(machine, root):
    ws = Workspace(root)
    try:
        for full, quick in both_scans(ws).values():
            assert candidates(quick) == candidates(full) and candidates(full)
            assert quick.managed == 0 and not [x for x in quick.left if x.reason == "foreign-link"]
        full, _ = both_scans(ws)["comfyui"]
        assert [Path(x.path).name for x in full.left if x.reason == "foreign-link"] == ["shared_lora.safetensors"]

        done = adopt(ws, ["comfyui"])
        assert not done.failures
        scans = both_scans(ws)
        full, quick = scans["comfyui"]
        assert full.managed > 0  # every adopted file is a link into the library now
        assert candidates(quick) == candidates(full)  # the unsafe pickle, left where it was
        assert [u.app for u in unmanaged(ws)] == ["a1111", "lmstudio"]
        for full, quick in scans.values():
            assert candidates(quick) == candidates(full)
    finally:
        ws.close()
