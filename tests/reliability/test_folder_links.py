"""A folder import follows links only inside the folder (or a Hugging Face cache's own blobs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pumasfs.base.paths import Layout
from tests.conftest import assert_one_line_error
from tests.importer.helpers import VAE, lora, write_safetensors

from .conftest import library_models


def transformers_folder(d: Path) -> Path:
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"architectures": ["CLIPTextModel"], "model_type": "clip_text_model"}))
    write_safetensors(d / "model.safetensors", VAE, fill=b"\x03")
    return d


def test_link_out_of_the_folder_is_refused_and_named(tmp_path: Path, root: Path, pumas):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0\n")
    d = transformers_folder(tmp_path / "dl" / "clip")
    (d / "README.md").symlink_to(secret)
    r = pumas("import", d, check=False)
    assert_one_line_error(r)
    assert str(d / "README.md") in r.stderr and str(secret) in r.stderr
    assert library_models(Layout(root).models_dir) == []
    # A collection folder: the one bad model is refused, the others come in.
    coll = tmp_path / "dl" / "loras"
    lora(coll / "good.safetensors", 1)
    outside = lora(tmp_path / "elsewhere" / "x.safetensors", 2)
    (coll / "linked.safetensors").symlink_to(outside)
    r = pumas("import", "--json", coll, check=False)
    assert r.returncode == 5
    statuses = {Path(x["source"]).name: x["status"] for x in r.json()}
    assert statuses == {"good.safetensors": "imported", "linked.safetensors": "failed"}
    # Named on its own, the link is the user's explicit choice: followed.
    assert pumas("import", "--json", coll / "linked.safetensors").json()[0]["status"] == "imported"


def test_links_inside_the_folder_and_hf_cache_blobs_are_followed(tmp_path: Path, root: Path, pumas):
    d = transformers_folder(tmp_path / "dl" / "inside")
    os.rename(d / "model.safetensors", d / "real.bin.safetensors")
    (d / "model.safetensors").symlink_to("real.bin.safetensors")
    # A Hugging Face cache snapshot: every file a link into the repo's blobs/.
    repo = tmp_path / "hf" / "hub" / "models--org--clip"
    snap = repo / "snapshots" / "0123abcd"
    blobs = repo / "blobs"
    blobs.mkdir(parents=True)
    snap.mkdir(parents=True)
    src = transformers_folder(tmp_path / "tmpclip")
    for name in ("config.json", "model.safetensors"):
        os.rename(src / name, blobs / f"blob-{name}")
        (snap / name).symlink_to(os.path.relpath(blobs / f"blob-{name}", snap))
    out = pumas("import", "--json", snap, "--allow-duplicate").json()
    assert [x["status"] for x in out] == ["imported"]
    out = pumas("import", "--json", d, "--allow-duplicate").json()
    assert [x["status"] for x in out] == ["imported"]
    assert len(library_models(Layout(root).models_dir)) == 2
