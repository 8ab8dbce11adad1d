"""From the paths a user names to import units: one unit, one model."""

from __future__ import annotations

import json
from pathlib import Path

from pumasfs.importing.grouping import group_paths

from .helpers import LORA, VAE, lora, write_safetensors


def _rels(unit) -> list[str]:
    return sorted(f.rel for f in unit.files)


def test_single_file_brings_its_companions_only(tmp_path: Path):
    w = lora(tmp_path / "myLora.safetensors")
    for name in ("myLora.yaml", "myLora.preview.png", "myLora.jpg", "myLora.json", "myLora.civitai.info",
                 "myLora.txt", "myLoraX.yaml", "other.png"):
        (tmp_path / name).write_text("x")
    g = group_paths([w])
    assert not g.errors
    [unit] = g.units
    assert unit.kind == "file" and unit.layout == "file" and unit.primary == "myLora.safetensors"
    assert _rels(unit) == sorted(["myLora.safetensors", "myLora.yaml", "myLora.preview.png", "myLora.jpg",
                                  "myLora.json", "myLora.civitai.info"])
    roles = {f.rel: f.role for f in unit.files}
    assert roles["myLora.preview.png"] == "preview" and roles["myLora.yaml"] == "config"
    assert roles["myLora.civitai.info"] == "info"


def test_companions_named_on_the_command_line_are_absorbed(tmp_path: Path):
    lora(tmp_path / "a.safetensors")
    (tmp_path / "a.yaml").write_text("x")
    g = group_paths(sorted(tmp_path.iterdir()))
    assert not g.errors and len(g.units) == 1


def test_diffusers_folder_is_one_model_with_subfolders(tmp_path: Path):
    d = tmp_path / "sdxl-base"
    (d / "unet").mkdir(parents=True)
    (d / "model_index.json").write_text("{}")
    (d / "unet" / "config.json").write_text("{}")
    write_safetensors(d / "unet" / "diffusion_pytorch_model.safetensors", LORA)
    write_safetensors(d / "vae" / "diffusion_pytorch_model.safetensors", VAE)
    (d / ".cache").mkdir()
    (d / ".cache" / "junk").write_text("x")
    [unit] = group_paths([d]).units
    assert unit.kind == "diffusers" and unit.layout == "folder" and unit.name_hint == "sdxl-base"
    assert _rels(unit) == ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
                           "vae/diffusion_pytorch_model.safetensors"]
    assert unit.primary == "unet/diffusion_pytorch_model.safetensors"
    assert unit.identify_target == d


def _shards(d: Path, n: int, total: int, prefix: str = "model", index: bool = True) -> list[Path]:
    out = []
    for i in range(1, n + 1):
        out.append(lora(d / f"{prefix}-{i:05d}-of-{total:05d}.safetensors", seed=i))
    if index:
        wm = {f"t{i}": f"{prefix}-{i:05d}-of-{total:05d}.safetensors" for i in range(1, total + 1)}
        (d / f"{prefix}.safetensors.index.json").write_text(json.dumps({"weight_map": wm}))
    return out


def test_transformers_folder_with_shards(tmp_path: Path):
    d = tmp_path / "Qwen2-0.5B"
    d.mkdir()
    (d / "config.json").write_text("{}")
    (d / "tokenizer.json").write_text("{}")
    _shards(d, 2, 2)
    [unit] = group_paths([d]).units
    assert unit.kind == "transformers"
    assert unit.primary == "model-00001-of-00002.safetensors"
    assert len(unit.files) == 5


def test_peft_folder(tmp_path: Path):
    d = tmp_path / "my-adapter"
    d.mkdir()
    (d / "adapter_config.json").write_text("{}")
    lora(d / "adapter_model.safetensors")
    [unit] = group_paths([d]).units
    assert unit.kind == "peft" and unit.primary == "adapter_model.safetensors"


def test_sharded_set_named_shard_by_shard_is_one_model(tmp_path: Path):
    shards = _shards(tmp_path, 3, 3, prefix="flux-dev")
    g = group_paths(shards)
    [unit] = g.units
    assert unit.kind == "sharded" and unit.layout == "folder" and unit.name_hint == "flux-dev"
    assert _rels(unit) == sorted([s.name for s in shards] + ["flux-dev.safetensors.index.json"])


def test_incomplete_sharded_set_is_refused_naming_the_missing_shard(tmp_path: Path):
    shards = _shards(tmp_path, 3, 3)
    shards[1].unlink()
    g = group_paths([shards[0]])
    assert not g.units
    [err] = g.errors
    assert "model-00002-of-00003.safetensors" in err.message and "incomplete" in err.message


def test_index_listing_a_missing_file_is_refused(tmp_path: Path):
    _shards(tmp_path, 2, 2)
    idx = tmp_path / "model.safetensors.index.json"
    idx.write_text(json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "gone.safetensors"}}))
    g = group_paths([tmp_path / "model-00001-of-00002.safetensors"])
    assert not g.units and "gone.safetensors" in g.errors[0].message


def test_downloads_folder_imports_each_model_on_its_own(tmp_path: Path):
    dl = tmp_path / "Downloads"
    lora(dl / "a.safetensors", 1)
    lora(dl / "b.safetensors", 2)
    (dl / "b.preview.png").write_text("x")
    (dl / "notes.pdf").write_text("x")
    sub = dl / "some-diffusers"
    (sub / "unet").mkdir(parents=True)
    (sub / "model_index.json").write_text("{}")
    lora(sub / "unet" / "diffusion_pytorch_model.safetensors", 3)
    g = group_paths([dl])
    assert not g.errors
    assert sorted((u.kind, u.source.name) for u in g.units) == [
        ("diffusers", "some-diffusers"), ("file", "a.safetensors"), ("file", "b.safetensors")]
    assert g.notes and "3 models" in g.notes[0]


def test_folder_with_one_generic_file_takes_the_folder_name(tmp_path: Path):
    lora(tmp_path / "flux-vae" / "diffusion_pytorch_model.safetensors")
    [unit] = group_paths([tmp_path / "flux-vae"]).units
    assert unit.kind == "file" and unit.name_hint == "flux-vae"


def test_unsupported_and_missing_paths_are_errors_the_rest_still_groups(tmp_path: Path):
    good = lora(tmp_path / "good.safetensors")
    (tmp_path / "archive.zip").write_text("x")
    empty = tmp_path / "empty"
    empty.mkdir()
    g = group_paths([good, tmp_path / "archive.zip", tmp_path / "nope.safetensors", empty])
    assert [u.source for u in g.units] == [good]
    msgs = {e.source.name: e.message for e in g.errors}
    assert "unsupported file type '.zip'" in msgs["archive.zip"]
    assert "no such file" in msgs["nope.safetensors"]
    assert "no model files" in msgs["empty"]


def test_same_file_twice_is_one_unit(tmp_path: Path):
    w = lora(tmp_path / "a.safetensors")
    assert len(group_paths([w, tmp_path / "x" / ".." / "a.safetensors"]).units) == 1


def test_shards_with_a_dtype_infix_form_one_set(tmp_path: Path):
    d = tmp_path / "transformer"
    names = [f"diffusion_pytorch_model-{i:05d}-of-00002.fp16.safetensors" for i in (1, 2)]
    for i, n in enumerate(names):
        lora(d / n, i)
    (d / "diffusion_pytorch_model.fp16.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": names[0], "b": names[1]}}))
    [unit] = group_paths([d / names[1]]).units
    assert unit.kind == "sharded" and unit.primary == names[0] and unit.name_hint == "transformer"
    assert len(unit.files) == 3
