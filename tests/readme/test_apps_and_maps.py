"""README's promises about app installs, checked through the real CLI: registering writes nothing into the
install, --skip-conflicts applies the rest, and the shipped LM Studio and Forge maps put files where those
apps look for them (/work/shared/reference.md §2)."""

from __future__ import annotations

import os
from pathlib import Path

from pumasfs.base.errors import EXIT_CONFLICT
from pumasfs.store.library import Library
from tests.support.comfyui import make_comfyui
from tests.support.fs import disk_links, snapshot
from tests.support.models import add_file_model, add_model
from tests.support.safetensors import weights


def test_app_add_show_and_dry_run_write_nothing_into_the_install(library: Library, pumas, tmp_path: Path) -> None:
    add_model(library, "Alpha")
    add_model(library, "Beta", subtype="loras")
    library.close()
    comfy = make_comfyui(tmp_path / "ComfyUI", custom=("ipadapter",))
    (comfy / "models/checkpoints/users-own.safetensors").write_bytes(b"mine")
    before = snapshot(comfy)
    mtime = (comfy / "models").stat().st_mtime_ns

    pumas("app", "add", "comfyui", comfy)
    pumas("app", "show", "comfyui")
    dry = pumas("materialize", "comfyui", "--dry-run")
    assert "checkpoints/Alpha.safetensors" in dry.stdout  # the plan is there...
    assert snapshot(comfy) == before  # ...and not one byte, link or folder of it was written
    assert (comfy / "models").stat().st_mtime_ns == mtime


def test_skip_conflicts_applies_everything_else(library: Library, pumas, tmp_path: Path) -> None:
    add_model(library, "Alpha")
    add_model(library, "Beta")
    add_model(library, "Gamma", subtype="loras")
    library.close()
    comfy = make_comfyui(tmp_path / "ComfyUI")
    in_the_way = comfy / "models/checkpoints/Alpha.safetensors"
    in_the_way.write_bytes(b"the user's own Alpha")
    pumas("app", "add", "comfyui", comfy)

    blocked = pumas("materialize", "comfyui", check=False)
    assert blocked.returncode == EXIT_CONFLICT and "--skip-conflicts" in blocked.stderr
    assert disk_links(comfy / "models") == {}

    applied = pumas("materialize", "comfyui", "--skip-conflicts", "--json", check=False)
    assert applied.returncode == 0, applied
    [report] = applied.json()
    assert sorted(report["created"]) == ["checkpoints/Beta.safetensors", "loras/Gamma.safetensors"]
    assert [Path(c["path"]).name for c in report["conflicts"]] == ["Alpha.safetensors"]
    assert sorted(disk_links(comfy / "models")) == ["checkpoints/Beta.safetensors", "loras/Gamma.safetensors"]
    assert in_the_way.read_bytes() == b"the user's own Alpha" and not in_the_way.is_symlink()

    # `sync` takes the flag too: a new model arrives while the conflict is still there.
    add_model(library, "Delta")
    library.close()
    assert pumas("sync", "--skip-conflicts", check=False).returncode == 0
    assert (comfy / "models/checkpoints/Delta.safetensors").is_symlink()
    assert in_the_way.read_bytes() == b"the user's own Alpha"


def test_lm_studio_map_uses_publisher_repo_file(library: Library, pumas, tmp_path: Path) -> None:
    """LM Studio reads models/<publisher>/<repo>/<file>.gguf and ignores files directly in models/."""
    from_hub = add_file_model(library, "Llama-3.2-1B-Instruct-Q4_K_M.gguf", weights("q4"),
                              hub_repo="bartowski/Llama-3.2-1B-Instruct-GGUF")
    local = add_file_model(library, "my-merge-Q5_K_M.gguf", weights("merge"))
    add_model(library, "SomeCheckpoint")  # not an LLM: LM Studio gets nothing of it
    library.close()
    lms = tmp_path / "home" / ".lmstudio"
    (lms / "models").mkdir(parents=True)
    pumas("app", "add", "lmstudio", lms)
    pumas("materialize", "lmstudio")

    lib = os.path.realpath(library.layout.models_dir)
    assert disk_links(lms / "models") == {
        "bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf":
            f"{lib}/{from_hub.model_id}/Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        f"pumas/{local.cleaned_name}/my-merge-Q5_K_M.gguf": f"{lib}/{local.model_id}/my-merge-Q5_K_M.gguf",
    }


def test_forge_map_uses_forges_folders(library: Library, pumas, tmp_path: Path) -> None:
    """Forge: A1111's folders (embeddings at the install root), Flux unets in models/Stable-diffusion and
    text encoders in models/text_encoder; no LLMs."""
    wanted = {
        ("sdxl-base", "sdxl", "checkpoints"): "models/Stable-diffusion",
        ("flux1-dev", "flux", "diffusion_models"): "models/Stable-diffusion",
        ("sdxl-vae", "sdxl", "vae"): "models/VAE",
        ("clip-l", "clip-l", "text_encoders"): "models/text_encoder",
        ("detail-lora", "sdxl", "loras"): "models/Lora",
        ("easynegative", "sd1", "embeddings"): "embeddings",
        ("4x-ultrasharp", "esrgan", "upscale_models"): "models/ESRGAN",
        ("canny", "sd1", "controlnet"): "models/ControlNet",
    }
    for (name, family, subtype) in wanted:
        add_model(library, name, family=family, subtype=subtype,
                  model_type="upscaler" if subtype == "upscale_models" else "diffusion")
    add_file_model(library, "some-llm-Q4_K_M.gguf", weights("llm"))
    library.close()
    forge = tmp_path / "stable-diffusion-webui-forge"
    for d in ("Stable-diffusion", "VAE", "Lora", "text_encoder", "ESRGAN", "ControlNet"):
        (forge / "models" / d).mkdir(parents=True)
    (forge / "embeddings").mkdir()
    pumas("app", "add", "forge", forge)
    pumas("materialize", "forge")

    got = {os.path.dirname(p): os.path.basename(p) for p in disk_links(forge)}
    assert sorted(disk_links(forge)) == sorted(f"{folder}/{name}.safetensors" for (name, _, _), folder in wanted.items())
    assert not any(p.endswith(".gguf") for p in got.values())
