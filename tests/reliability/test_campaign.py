"""A small hostile campaign: real SIGKILLs at random moments of import, rm, restore and edit.

After every kill, the next command must see a consistent library and nothing
may be lost: every model that was listed or in the trash before is listed or
in the trash after (by the SHA256 of its weights), no model is there twice,
no intent is left, no app link dangles after a sync, and `doctor --fix` leaves
a healthy library.  ``PUMAS_CAMPAIGN_TRIALS`` sets the number of trials (the
normal suite runs a few; the closing note's figures come from a long run).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from pumasfs.base.paths import Layout
from tests.importer.helpers import LORA, write_safetensors
from tests.materializer.conftest import make_comfyui

from .conftest import library_models

TRIALS = int(os.environ.get("PUMAS_CAMPAIGN_TRIALS", "6"))


def weights_of(models: Path) -> dict[str, int]:
    """sha256 -> size of every model's weights, in the library and in the trash (read from metadata.json)."""
    out: dict[str, int] = {}
    for meta_path in list(models.rglob("metadata.json")):
        if ".downloads" in meta_path.parts:
            continue
        meta = json.loads(meta_path.read_text())
        for f in meta["files"]:
            if f.get("role") == "weights" and f.get("sha256"):
                if (meta_path.parent / f["name"]).is_file():
                    out[f["sha256"]] = f["size"]
    return out


def test_random_kills(root: Path, tmp_path: Path, pumas):
    rng = random.Random(int(os.environ.get("PUMAS_CAMPAIGN_SEED", "15")))
    srcs = [write_safetensors(tmp_path / "dl" / f"m{i}.safetensors", LORA, fill=bytes([i + 1]) * 3,
                              total_size=(4 + i) * 1024 * 1024) for i in range(6)]
    comfy = make_comfyui(tmp_path / "ComfyUI")
    pumas("import", srcs[0])
    pumas("app", "add", "comfyui", comfy)
    pumas("materialize", "comfyui")
    models = Layout(root).models_dir
    env = {**os.environ, "HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    env.pop("PUMAS_HOME", None)
    stats = {"trials": 0, "killed": 0, "failures": 0, "bytes_lost": 0}
    for trial in range(TRIALS):
        listed = [m["model_id"] for m in pumas("list", "--json").json()]
        trash = pumas("trash", "list", "--json").json()
        before = weights_of(models)
        op = rng.choice(["import", "import", "rm", "restore", "edit"])
        if op == "import":
            args = ["import", str(rng.choice(srcs))]
        elif op == "rm" and listed:
            args = ["rm", "--yes", *rng.sample(listed, k=min(len(listed), rng.choice([1, 2])))]
        elif op == "restore" and trash:
            args = ["trash", "restore", rng.choice(trash)["id"]]
        elif op == "edit" and listed:
            args = ["edit", rng.choice(listed), "--set", f"family={rng.choice(['sd1', 'sdxl', 'flux'])}"]
        else:
            args = ["import", str(rng.choice(srcs))]
        proc = subprocess.Popen([sys.executable, "-m", "pumasfs", "--root", str(root), *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        time.sleep(rng.uniform(0.0, float(os.environ.get("PUMAS_CAMPAIGN_MAX_DELAY", "1.2"))))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            stats["killed"] += 1
        proc.wait()
        stats["trials"] += 1

        # The next command sees everything consistent.
        problems = []
        now = [m["model_id"] for m in pumas("list", "--json").json()]
        if sorted(now) != library_models(models):
            problems.append(f"listed {sorted(now)} but on disk {library_models(models)}")
        after = weights_of(models)
        lost = {h: n for h, n in before.items() if h not in after}
        if lost:
            problems.append(f"lost {lost}")
            stats["bytes_lost"] += sum(lost.values())
        shas = [json.loads((models / m / "metadata.json").read_text())["hashes"]["sha256"] for m in now]
        if len(shas) != len(set(shas)):
            problems.append(f"a model is there twice: {now}")
        if list((models / ".journal").glob("*.intent")):
            problems.append("an intent was left")
        pumas("sync", check=False)
        dangling = [p for p in (comfy / "models").rglob("*") if p.is_symlink() and not p.exists()]
        if dangling:
            problems.append(f"dangling links {dangling}")
        pumas("doctor", "--fix", check=False)
        doc = pumas("doctor", check=False)
        if doc.returncode != 0:
            problems.append(f"doctor: {doc.stdout}")
        if problems:
            stats["failures"] += 1
            print(f"trial {trial} ({' '.join(args[:2])}):", *problems, sep="\n  ")
    print("campaign:", stats)
    assert stats["failures"] == 0 and stats["bytes_lost"] == 0, stats
