"""`pumas adopt --dry-run` predicts the conflicts adoption would meet, as lines and as --json data.

The machine of tests/adopt/conftest.py already holds one: ComfyUI's sdxl
`foo_character_v2` LoRA and A1111's pony LoRA of the same name (other bytes)
would both be placed at A1111's `Lora/foo_character_v2.safetensors`; the
pinned file keeps the name and the other shows renamed.  Added here: a LoRA
the user linked into ComfyUI by hand where the map would place A1111's copy,
and a pinned path whose link the user replaced by a file of other bytes.
"""

from __future__ import annotations

import os

from tests.adopt.conftest import lora


def _details(out: dict) -> list[dict]:
    return out["conflict_details"]


def test_dry_run_predicts_the_name_clash_between_apps_and_a_foreign_file_in_the_way(machine, pumas, tmp_path):
    other = lora(tmp_path / "home/elsewhere/a1111_only_mine.safetensors", 40)
    os.symlink(other, machine.comfy / "models/loras/a1111_only.safetensors")
    out = pumas("adopt", "--dry-run", "--json").json()
    found = {(c["app"], c["path"], c["kind"]) for c in _details(out)}
    assert ("a1111", "models/Lora/foo_character_v2.safetensors", "renamed") in found, _details(out)
    assert ("comfyui", "loras/a1111_only.safetensors", "occupied") in found, _details(out)
    assert len(out["conflicts"]) == len(_details(out))
    assert out["total"]["conflicts"] == len(_details(out))
    assert out["apps"]["comfyui"]["conflicts"] >= 1
    # Nothing moved.
    assert not (machine.comfy / "models/loras/style_ink.safetensors").is_symlink()
    text = pumas("adopt", "--dry-run").stdout
    assert f"conflicts: {len(_details(out))}" in text
    assert "a1111: models/Lora/foo_character_v2.safetensors:" in text
    # The prediction holds: after adopting, the materializer meets the foreign link where it said.
    pumas("adopt")
    rep = pumas("materialize", "comfyui", "--dry-run", "--json", check=False).json()
    rep = rep[0] if isinstance(rep, list) else rep
    assert [c["path"] for c in rep["conflicts"]] == [str(machine.comfy / "models/loras/a1111_only.safetensors")]


def test_dry_run_on_a_clean_adoption_reports_none(tmp_path, pumas):
    from tests.materializer.conftest import make_comfyui

    comfy = make_comfyui(tmp_path / "home/ComfyUI")
    lora(comfy / "models/loras/a.safetensors", 1)
    lora(comfy / "models/loras/sub/b.safetensors", 2)
    pumas("app", "add", "comfyui", comfy, "--name", "comfyui")
    out = pumas("adopt", "--dry-run", "--json").json()
    assert out["conflicts"] == [] and out["total"]["conflicts"] == 0


def test_a_pinned_path_holding_other_bytes_is_a_predicted_pin_move(machine, pumas):
    pumas("adopt", "comfyui")
    path = machine.comfy / "models/loras/style_ink.safetensors"
    assert path.is_symlink()
    path.unlink()
    lora(path, 99)  # the user put another file of that name there
    out = pumas("adopt", "comfyui", "--dry-run", "--json").json()
    moves = [c for c in _details(out) if c["kind"] == "pin-moves"]
    assert [(c["app"], c["path"]) for c in moves] == [("comfyui", "loras/style_ink.safetensors")], _details(out)
