"""Apps follow the library by themselves: after `import`, `edit`, `enrich` and `download` (all through the
real CLI), every materialized install's links appear, move or go without anyone running `pumas sync`."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.comfyui import make_comfyui
from tests.support.safetensors import LORA, lora, safetensors_bytes, write_safetensors

from .fakehub import FakeHub


def _links(models: Path) -> dict[str, str]:
    """App path -> the library file it resolves to, for every link under ``models``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(models):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                out[os.path.relpath(p, models)] = os.path.realpath(p)
    return out


def _materialized(pumas, tmp_path: Path) -> Path:
    """A registered ComfyUI install, materialized once while the library is empty: kept in sync from now on."""
    comfy = make_comfyui(tmp_path / "ComfyUI")
    pumas("app", "add", "comfyui", comfy)
    pumas("materialize", "comfyui")
    assert _links(comfy / "models") == {}
    return comfy / "models"


def test_import_and_edit_update_the_links_by_themselves(pumas, root: Path, tmp_path: Path) -> None:
    models = _materialized(pumas, tmp_path)
    lib_models = os.path.realpath(root / "shared-resources" / "models")

    [imp] = pumas("import", "--json", lora(tmp_path / "src" / "detail.safetensors")).json()
    model_id = imp["model_id"]
    assert model_id == "diffusion/unknown/detail"
    assert _links(models) == {"loras/detail.safetensors": f"{lib_models}/{model_id}/detail.safetensors"}

    # A family change moves the model's folder: the link keeps its name and follows it.
    pumas("edit", model_id, "--set", "family=sdxl")
    assert _links(models) == {"loras/detail.safetensors": f"{lib_models}/diffusion/sdxl/detail/detail.safetensors"}

    # A subtype change moves the link to the other folder.
    pumas("edit", "diffusion/sdxl/detail", "--set", "subtype=checkpoints")
    assert _links(models) == {
        "checkpoints/detail.safetensors": f"{lib_models}/diffusion/sdxl/detail/detail.safetensors"}


def test_enrich_that_renames_a_model_moves_its_link(hub: FakeHub, hub_env, pumas, root: Path, tmp_path: Path) -> None:
    models = _materialized(pumas, tmp_path)
    lib_models = os.path.realpath(root / "shared-resources" / "models")
    data = safetensors_bytes("mystery-lora", 2048)  # a header identification cannot place
    hub.repo("acme/Mystery-LoRA", pipeline_tag="text-to-image").add("mystery-lora.safetensors", data)
    src = tmp_path / "mystery-lora.safetensors"
    src.write_bytes(data)
    [imp] = pumas("import", "--json", "--subtype", "loras", src, env_extra={**hub_env, "HF_HUB_OFFLINE": "1"}).json()
    assert imp["model_id"] == "unknown/unknown/mystery-lora"
    assert _links(models) == {"loras/mystery-lora.safetensors": f"{lib_models}/unknown/unknown/mystery-lora/mystery-lora.safetensors"}

    out = pumas("enrich", "--json", env_extra=hub_env).json()

    # Verified by its sha256, the hub's pipeline tag gives the model its type: a new id, a new folder.
    assert out["renamed"] == {"unknown/unknown/mystery-lora": "diffusion/unknown/mystery-lora"}
    assert _links(models) == {
        "loras/mystery-lora.safetensors": f"{lib_models}/diffusion/unknown/mystery-lora/mystery-lora.safetensors"}
    assert (models / "loras/mystery-lora.safetensors").read_bytes() == data


def test_download_links_the_new_model(hub: FakeHub, hub_env, pumas, root: Path, tmp_path: Path) -> None:
    models = _materialized(pumas, tmp_path)
    lib_models = os.path.realpath(root / "shared-resources" / "models")
    data = write_safetensors(tmp_path / "tmp.safetensors", LORA, fill=b"\x05\x07").read_bytes()
    hub.repo("acme/Detail-LoRA", pipeline_tag="text-to-image").add("detail-lora.safetensors", data)

    out = pumas("download", "acme/Detail-LoRA", "detail-lora.safetensors", "--json", env_extra=hub_env).json()

    [model_id] = out["model_ids"]
    assert _links(models) == {
        "loras/detail-lora.safetensors": f"{lib_models}/{model_id}/detail-lora.safetensors"}
    assert (models / "loras/detail-lora.safetensors").read_bytes() == data
