"""A full disk is the user's situation: one line, exit 1, nothing half done, reading still works.

The library lives on a real, small tmpfs; a filler file leaves exactly N KiB
free, for a range of N, so that the disk runs out at every step of an import
in turn (the copy, metadata.json, the intent, the rename, the index row, the
post-import sync).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import Run, assert_one_line_error
from tests.importer.helpers import lora, tmpfs

from .conftest import library_models


def fill(mnt: Path, leave_kib: int) -> Path:
    filler = mnt / "filler"
    filler.unlink(missing_ok=True)
    st = os.statvfs(mnt)
    free = st.f_bavail * st.f_frsize
    size = max(0, free - leave_kib * 1024)
    if size:
        subprocess.run(["fallocate", "-l", str(size), str(filler)], check=True)
    return filler


def one_line_or_ok(r: Run) -> None:
    assert r.returncode in (0, 1, 5), f"exit {r.returncode}: {r.stderr}"
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if r.returncode:
        assert_one_line_error(r)


def test_full_disk_at_every_step_of_import(tmp_path: Path, pumas_at):
    srcs = [lora(tmp_path / "dl" / f"m{i}.safetensors", i) for i in range(10)]
    with tmpfs(tmp_path / "disk", "8m") as mnt:
        root = mnt / "lib"
        pumas_at(root, "import", lora(tmp_path / "dl" / "first.safetensors", 99))
        models = root / "shared-resources" / "models"
        statuses = []
        for i, leave in enumerate(range(36, 76, 4)):
            before = len(library_models(models))
            fill(mnt, leave)
            r = pumas_at(root, "import", "--json", srcs[i], check=False)
            one_line_or_ok(r)
            status = r.json()[0]["status"] if r.stdout.startswith("[") else "failed"
            statuses.append(status)
            # An import that committed says so; one that did not leaves nothing.
            committed = len(library_models(models)) == before + 1
            assert (status == "imported") == committed, (leave, status, r.stderr)
            # Reading works on the full disk; writing says why it cannot, in one line.
            for cmd in (["list"], ["doctor"]):
                rr = pumas_at(root, *cmd, check=False)
                assert "Traceback" not in rr.stderr and "internal error" not in rr.stderr, rr.stderr
            listed = pumas_at(root, "list", "--json").json()
            for cmd in (["edit", listed[0]["model_id"], "--set", "notes=x"], ["scan"], ["doctor", "--fix"],
                        ["rm", listed[-1]["model_id"]], ["trash", "list"]):
                one_line_or_ok(pumas_at(root, *cmd, check=False))
            # Space comes back: everything is consistent, nothing is imported twice.
            (mnt / "filler").unlink()
            for item in pumas_at(root, "trash", "list", "--json").json():
                pumas_at(root, "trash", "restore", item["id"])
            ids = [m["model_id"] for m in pumas_at(root, "list", "--json").json()]
            assert ids == library_models(models)
            again = pumas_at(root, "import", "--json", srcs[i]).json()[0]["status"]
            assert again == ("duplicate" if committed else "imported"), (leave, status, again)
            doc = pumas_at(root, "doctor", check=False)
            assert doc.returncode == 0, (leave, doc.stdout + doc.stderr)
            assert not list((models / ".journal").iterdir())
            assert [p.name for p in (models / ".downloads").iterdir()] == []
        print("statuses by KiB left:", list(zip(range(36, 76, 4), statuses)))
        assert "failed" in statuses and "imported" in statuses  # the range did cross the edge
