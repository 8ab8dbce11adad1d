"""Apps follow the library by themselves: after `import`, `edit`, `enrich` and `download` (all through the
real CLI), every materialized install's links appear, move or go without anyone running `pumas sync`."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.comfyui import make_comfyui
from tests.support.fs import disk_links
from tests.support.safetensors import LORA, lora, safetensors_bytes, write_safetensors

from .fakehub import FakeHub


def _materialized(pumas, tmp_path: Path) -> Path:
    """A registered ComfyUI install, materialized once while the library is empty: kept in sync from now on."""
    comfy = make_comfyui(tmp_path / "ComfyUI")
    pumas("app", "add", "comfyui", comfy)
    pumas("materialize", "comfyui")
    assert disk_links(comfy / "models") == {}
    return comfy / "models"


def test_import_and_edit_update_the_links_by_themselves(pumas, root: Path, tmp_path: Path) -> None:
    models = _materialized(pumas, tmp_path)
    lib_models = os.path.realpath(root / "shared-resources" / "models")

    [imp] = pumas("import", "--json", lora(tmp_path / "src" / "detail.safetensors")).json()
    model_id = imp["model_id"]
    assert model_id == "diffusion/unknown/detail"
    assert disk_links(models) == {"loras/detail.safetensors": f"{lib_models}/{model_id}/detail.safetensors"}

    # A family change moves the model's folder: the link keeps its name and follows it.
    pumas("edit", model_id, "--set", "family=sdxl")
    assert disk_links(models) == {"loras/detail.safetensors": f"{lib_models}/diffusion/sdxl/detail/detail.safetensors"}

    # A subtype change moves the link to the other folder.
    pumas("edit", "diffusion/sdxl/detail", "--set", "subtype=checkpoints")
    assert disk_links(models) == {
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
    assert disk_links(models) == {"loras/mystery-lora.safetensors": f"{lib_models}/unknown/unknown/mystery-lora/mystery-lora.safetensors"}

    out = pumas("enrich", "--json", env_extra=hub_env).json()

    # Verified by its sha256, the hub's pipeline tag gives the model its type: a new id, a new folder.
    assert out["renamed"] == {"unknown/unknown/mystery-lora": "diffusion/unknown/mystery-lora"}
    assert disk_links(models) == {
        "loras/mystery-lora.safetensors": f"{lib_models}/diffusion/unknown/mystery-lora/mystery-lora.safetensors"}
    assert (models / "loras/mystery-lora.safetensors").read_bytes() == data


def test_download_links_the_new_model(hub: FakeHub, hub_env, pumas, root: Path, tmp_path: Path) -> None:
    models = _materialized(pumas, tmp_path)
    lib_models = os.path.realpath(root / "shared-resources" / "models")
    data = write_safetensors(tmp_path / "tmp.safetensors", LORA, fill=b"\x05\x07").read_bytes()
    hub.repo("acme/Detail-LoRA", pipeline_tag="text-to-image").add("detail-lora.safetensors", data)

    out = pumas("download", "acme/Detail-LoRA", "detail-lora.safetensors", "--json", env_extra=hub_env).json()

    [model_id] = out["model_ids"]
    assert disk_links(models) == {
        "loras/detail-lora.safetensors": f"{lib_models}/{model_id}/detail-lora.safetensors"}
    assert (models / "loras/detail-lora.safetensors").read_bytes() == data
