"""The machine a new user arrives with: ComfyUI + A1111 + LM Studio full of their own models."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from pumasfs.adopt.listing import list_folder
from pumasfs.sample.samples import write_gguf
from tests.importer.helpers import LORA, VAE, pickle_file, write_safetensors
from tests.materializer.conftest import make_comfyui

SAFE_PICKLE = [("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2")]
CHECKPOINT = {"model.diffusion_model.input_blocks.0.0.weight": ("F16", [320, 4, 3, 3]),
              "first_stage_model.encoder.conv_in.weight": ("F16", [128, 3, 3, 3]),
              "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": ("F16", [64, 8])}


def lora(path: Path, seed: int) -> Path:
    return write_safetensors(path, LORA, fill=bytes([seed % 251 + 1, 9, seed // 251 % 256, 3]))


@dataclass
class Machine:
    home: Path
    comfy: Path
    a1111: Path
    lmstudio: Path

    def installs(self) -> dict[str, tuple[Path, list[Path]]]:
        """install name -> (root, the folders it lists models from)."""
        return {
            "comfyui": (self.comfy, [self.comfy / "models"]),
            "a1111": (self.a1111, [self.a1111 / "models", self.a1111 / "embeddings"]),
            "lmstudio": (self.lmstudio, [self.lmstudio / "models"]),
        }


def build_machine(home: Path) -> Machine:
    comfy = make_comfyui(home / "ComfyUI")
    m = comfy / "models"
    # LoRAs sorted into subfolders; two different LoRAs share a name (sdxl/ and pony/).
    sdxl = lora(m / "loras/sdxl/characters/foo_character_v2.safetensors", 1)
    (sdxl.parent / "foo_character_v2.preview.png").write_bytes(b"\x89PNG sdxl preview")
    (sdxl.parent / "foo_character_v2.civitai.info").write_text(json.dumps(
        {"name": "v2.0", "baseModel": "SDXL 1.0", "trainedWords": ["foochar", "blue hair"],
         "model": {"name": "Foo Character"}}))
    pony = lora(m / "loras/pony/foo_character_v2.safetensors", 2)
    (pony.parent / "foo_character_v2.cm-info.json").write_text(json.dumps(
        {"ModelName": "Foo Character (Pony)", "BaseModel": "Pony", "TrainedWords": ["foopony"]}))
    lora(m / "loras/style_ink.safetensors", 3)
    lora(m / "loras/style_ink_copy.safetensors", 3)  # the same bytes twice in one app
    write_safetensors(m / "checkpoints/juggernaut_xl.safetensors", CHECKPOINT, fill=b"\x05\x06")
    (m / "checkpoints/juggernaut_xl.yaml").write_text("model: {}\n")
    write_safetensors(m / "vae/sdxl_vae.safetensors", VAE, fill=b"\x11")
    # Custom-node folders: nothing we can identify, but ComfyUI lists them.
    (m / "sams").mkdir()
    pickle_file(m / "sams/sam_vit_b_01ec64.pth", SAFE_PICKLE)
    (m / "ultralytics/bbox").mkdir(parents=True)
    pickle_file(m / "ultralytics/bbox/face_yolov8m.pt", [("torch._utils", "_rebuild_tensor_v2")])
    (m / "insightface/models/buffalo_l").mkdir(parents=True)
    (m / "insightface/models/buffalo_l/det_10g.onnx").write_bytes(b"\x08\x07onnx-ish" * 50)
    # An unsafe pickle and a user's own link: both left alone.
    pickle_file(m / "upscale_models/evil.pth", [("os", "system")])
    (home / "elsewhere").mkdir()
    lora(home / "elsewhere/shared_lora.safetensors", 7)
    os.symlink(home / "elsewhere/shared_lora.safetensors", m / "loras/shared_lora.safetensors")
    # Saved workflows: UI and API formats, names relative to their folders.
    wf = comfy / "user/default/workflows"
    (wf / "chars").mkdir(parents=True)
    (wf / "chars/foo.json").write_text(json.dumps({"nodes": [
        {"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["juggernaut_xl.safetensors"]},
        {"id": 2, "type": "LoraLoader", "widgets_values": ["sdxl/characters/foo_character_v2.safetensors", 1, 1]},
        {"id": 3, "type": "LoraLoader", "widgets_values": ["pony/foo_character_v2.safetensors", 0.8, 0.8]},
        {"id": 4, "type": "VAELoader", "widgets_values": ["sdxl_vae.safetensors"]},
        {"id": 5, "type": "SAMLoader", "widgets_values": ["sam_vit_b_01ec64.pth", "AUTO"]},
        {"id": 6, "type": "LoraLoader", "widgets_values": ["missing/never_had_it.safetensors", 1, 1]},
    ]}))
    (wf / "api.json").write_text(json.dumps({
        "1": {"class_type": "LoraLoader", "inputs": {"lora_name": "style_ink.safetensors"}},
        "2": {"class_type": "UltralyticsDetectorProvider", "inputs": {"model_name": "bbox/face_yolov8m.pt"}},
    }))

    a1111 = home / "stable-diffusion-webui"
    for d in ("models/Stable-diffusion", "models/Lora", "models/VAE", "embeddings"):
        (a1111 / d).mkdir(parents=True)
    (a1111 / "webui.py").write_text("# A1111\n")
    write_safetensors(a1111 / "models/Stable-diffusion/juggernaut_xl.safetensors", CHECKPOINT, fill=b"\x05\x06")
    a_lora = lora(a1111 / "models/Lora/foo_character_v2.safetensors", 2)  # the pony one, by another name's place
    (a_lora.parent / "foo_character_v2.json").write_text(json.dumps({"activation text": "foopony, pony style"}))
    (a_lora.parent / "foo_character_v2.png").write_bytes(b"\x89PNG a1111 card")
    lora(a1111 / "models/Lora/a1111_only.safetensors", 4)
    write_safetensors(a1111 / "embeddings/easyneg.safetensors",
                      {"emb_params": ("F32", [8, 768])}, fill=b"\x21")

    lms = home / ".lmstudio"
    write_gguf(lms / "models/TheBloke/Mistral-7B-GGUF/mistral-7b.Q4_K_M.gguf", "llama",
               {"general.name": "Mistral 7B"}, [("token_embd.weight", "F16", [32, 16])])
    return Machine(home, comfy, a1111, lms)


def listing(folders: list[Path], *, during: bool = False) -> dict[str, str]:
    """Every name an app lists (ComfyUI's walk: links followed, no extension filter) -> sha256 of its bytes.

    ``during``: a run was killed mid-swap; a ``.<name>.pumas-tmp`` link beside
    an original is allowed (no app lists that extension; the next run removes it).
    """
    out = {}
    for top in folders:
        for rel in list_folder(str(top), ()):
            if during and rel.rpartition("/")[2].startswith(".") and rel.endswith(".pumas-tmp"):
                continue
            p = top / rel
            if p.is_file():
                out[f"{top.name}/{rel}"] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[f"{top.name}/{rel}"] = "broken"
    return out


def machine_listing(m: Machine, *, during: bool = False) -> dict[str, dict[str, str]]:
    return {name: listing(folders, during=during) for name, (_, folders) in m.installs().items()}


@pytest.fixture
def machine(tmp_path: Path, pumas) -> Machine:
    m = build_machine(tmp_path / "home")
    pumas("app", "add", "comfyui", m.comfy, "--name", "comfyui")
    pumas("app", "add", "a1111", m.a1111, "--name", "a1111")
    pumas("app", "add", "lmstudio", m.lmstudio, "--name", "lmstudio")
    return m
