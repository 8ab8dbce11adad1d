"""Files of the 2025-26 corpus, imported for real and synced into a real ComfyUI tree, land in the
folder a loader that understands them reads: custom-node folders included, LLM releases nowhere."""

from __future__ import annotations

from pathlib import Path

from pumasfs.planning.comfyui_map import default_comfyui_map
from pumasfs.planning.planner import build_plan
from pumasfs.sample.demo import make_comfyui_tree
from tests.corpus.corpus_2025 import load_layouts_2025, write_sample_2025
from tests.planner.conftest import comfy_app, record

LAYOUTS = {l["id"]: l for l in load_layouts_2025()}


def _write(lid: str, dest: Path) -> Path:
    return write_sample_2025(LAYOUTS[lid], dest / lid)


def test_imported_models_are_linked_where_their_loader_reads(pumas, tmp_path):
    dl = tmp_path / "downloads"
    placed = {
        "animatediff-sd1": "animatediff_models/mm_sd_v15_v2.ckpt",  # only AnimateDiff-Evolved loads it
        "wan-1.3b-lora-diffpipe": "loras/wan_1.3b_style_diffusion_pipe.safetensors",
        "hunyuan-video-lora-diffpipe-attn": "loras/hyvid_lora_attn_only.safetensors",
        "flux-lora-xlabs": "loras/realism_lora.safetensors",  # ComfyUI's LoraLoader converts XLabs LoRAs itself
        "sd35-medium-lora-diffusers": "loras/sd35_medium_lora.safetensors",
    }
    for lid in placed:
        pumas("import", str(_write(lid, dl)), "--no-lookup")
    app = make_comfyui_tree(tmp_path / "ComfyUI")  # no animatediff_models folder: the map makes it
    pumas("app", "add", "comfyui", str(app))
    pumas("materialize", "comfyui")
    for rel in placed.values():
        assert (app / "models" / rel).is_symlink(), rel
    listed = {m["primary_file"]: m for m in pumas("list", "--json").json()}
    assert listed["wan_1.3b_style_diffusion_pipe.safetensors"]["family"] == "wan"
    assert listed["hyvid_lora_attn_only.safetensors"]["family"] == "hunyuan-video"
    assert listed["mm_sd_v15_v2.ckpt"]["family"] == "sd1"
    shown = pumas("show", listed["wan_1.3b_style_diffusion_pipe.safetensors"]["model_id"], "--json").json()
    assert shown["identification"]["size"] == "1.3b"  # the base size is kept in the library
    # ComfyUI's own folders got nothing else
    assert not list((app / "models" / "checkpoints").glob("*.ckpt"))


def test_custom_node_and_llm_placement_in_the_default_map():
    tmap = default_comfyui_map(["checkpoints", "loras", "ipadapter", "diffusion_models", "text_encoders"])
    recs = [
        record("diffusion/flux/xlabs-ip-adapter", "xlabs_ipadapters"),
        record("diffusion/sdxl/mm-sdxl-v10-beta", "animatediff_models"),
        record("diffusion/wan/wan21-i2v-gguf", "diffusion_models", files=[("wan.gguf", "weights")]),
        record("diffusion/llama3-8b/llava-llama3", "text_encoders"),
        record("llm/qwen3/qwen3-4b", None, files=[("model.safetensors", "weights")]),
    ]
    plan = build_plan(recs, tmap, comfy_app())
    assert sorted(plan.entries) == ["animatediff_models/mm-sdxl-v10-beta.safetensors",
                                    "diffusion_models/wan.gguf",
                                    "text_encoders/llava-llama3.safetensors",
                                    "xlabs/ipadapters/xlabs-ip-adapter.safetensors"]
