"""A library on a read-only mount (a backup, a NAS share): reading commands work, writing ones say why."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error
from tests.importer.helpers import lora
from tests.materializer.conftest import make_comfyui, snapshot


def test_read_only_library(root: Path, tmp_path: Path, pumas):
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    ids = [r["model_id"] for r in pumas("import", "--json", lora(tmp_path / "dl" / "a.safetensors", 1),
                                        lora(tmp_path / "dl" / "b.safetensors", 2)).json()]
    comfy = make_comfyui(tmp_path / "ComfyUI")
    pumas("app", "add", "comfyui", comfy)
    pumas("materialize", "comfyui")
    ro = tmp_path / "backup"
    ro.mkdir()
    subprocess.run(["mount", "--bind", str(root), str(ro)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True)
        before = snapshot(ro)
        listed = pumas("--root", ro, "list", "--json").json()
        assert sorted(m["model_id"] for m in listed) == sorted(ids)
        assert pumas("--root", ro, "list", "--search", "a").returncode == 0
        assert pumas("--root", ro, "show", "--json", ids[0]).json()["model_id"] == ids[0]
        assert pumas("--root", ro, "trash", "list", "--json").json() == []
        doc = pumas("--root", ro, "doctor", check=False)
        assert "Traceback" not in doc.stderr and "internal error" not in doc.stderr, doc.stderr
        for cmd in (["edit", ids[0], "--set", "notes=x"], ["import", lora(tmp_path / "dl" / "c.safetensors", 3)],
                    ["rm", "--yes", ids[0]], ["scan"]):
            r = pumas("--root", ro, *cmd, check=False)
            assert_one_line_error(r)
            assert "read-only" in r.stderr.lower(), r.stderr
        assert snapshot(ro) == before
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)
