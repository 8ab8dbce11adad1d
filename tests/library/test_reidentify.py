"""`pumas doctor` re-identifies models that older tools filed under the wrong type or family."""

from __future__ import annotations

import json
import os

from pumasfs.sample.samples import write_sample_library
from tests.conftest import assert_one_line_error


def test_doctor_reports_and_fixes_a_misfiled_model_and_relinks_it(pumas, root, tmp_path):
    samples = {p.name: p for p in write_sample_library(tmp_path / "dl")}
    lora = samples["sdxl_detail_tweaker.safetensors"]
    pumas("import", lora, "--no-lookup")
    app = tmp_path / "ComfyUI"
    for d in ("checkpoints", "loras", "vae"):
        (app / "models" / d).mkdir(parents=True)
        (app / "models" / d / f"put_{d}_here").write_text("")
    pumas("app", "add", "comfyui", app)
    pumas("materialize", "comfyui")
    link = app / "models/loras/sdxl_detail_tweaker.safetensors"
    assert link.is_symlink()

    # What a library filled by an older tool looks like: wrong family and subtype, under unknown/.
    models = root / "shared-resources/models"
    good = models / "diffusion/sdxl/sdxl-detail-tweaker"
    bad = models / "diffusion/unknown/sdxl-detail-tweaker"
    bad.parent.mkdir(parents=True)
    os.rename(good, bad)
    meta = json.loads((bad / "metadata.json").read_text())
    meta.update(model_id="diffusion/unknown/sdxl-detail-tweaker", family="unknown", subtype="checkpoints")
    (bad / "metadata.json").write_text(json.dumps(meta))
    pumas("scan")
    pumas("sync")
    assert (app / "models/checkpoints/sdxl_detail_tweaker.safetensors").is_symlink()  # misfiled, so mislinked

    report = pumas("doctor", "--json", check=False)
    assert report.returncode == 1
    found = [f for f in report.json() if f["kind"] == "misidentified"]
    assert len(found) == 1 and "'unknown' -> 'sdxl'" in found[0]["detail"] and found[0]["fixable"]

    fixed = pumas("doctor", "--fix", "--json", check=False)
    assert [f["fixed"] for f in fixed.json() if f["kind"] == "misidentified"] == [True]
    listed = pumas("list", "--json").json()
    assert [(m["model_id"], m["subtype"], m["family"]) for m in listed] == [
        ("diffusion/sdxl/sdxl-detail-tweaker", "loras", "sdxl")
    ]
    # The app follows: the link moved back to loras/, the placeholders are untouched.
    assert link.is_symlink() and link.resolve() == (good / "sdxl_detail_tweaker.safetensors").resolve()
    assert not (app / "models/checkpoints/sdxl_detail_tweaker.safetensors").exists()
    assert (app / "models/checkpoints/put_checkpoints_here").read_text() == ""
    assert pumas("doctor", check=False).returncode == 0


def test_doctor_leaves_user_edited_fields_alone(pumas, root, tmp_path):
    samples = {p.name: p for p in write_sample_library(tmp_path / "dl")}
    pumas("import", samples["sdxl_vae.safetensors"], "--family", "sd1", "--no-lookup")
    assert not [f for f in pumas("doctor", "--json").json() if f["kind"] == "misidentified"]


def test_doctor_fix_on_an_empty_library_is_healthy(pumas):
    assert "healthy" in pumas("doctor", "--fix").stdout
    assert_one_line_error(pumas("doctor", "--bogus", check=False))


def test_doctor_is_not_healthy_with_a_broken_apps_file(pumas, root):
    apps = root / "launcher-data/config/apps.json"
    apps.parent.mkdir(parents=True, exist_ok=True)
    apps.write_text("{broken")
    r = pumas("doctor", "--json", check=False)
    assert r.returncode == 1 and [f["kind"] for f in r.json()] == ["broken-apps-file"]
