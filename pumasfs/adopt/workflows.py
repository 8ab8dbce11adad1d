"""Model references in saved ComfyUI workflows, and which of them the install cannot resolve.

Workflows live in ``user/<user>/workflows/**/*.json``.  UI format: ``nodes[]``
with ``type`` and ``widgets_values`` (the model name relative to its folder,
e.g. ``sdxl/characters/foo.safetensors``); API format: ``{id: {class_type,
inputs: {ckpt_name, lora_name, ...}}}``.  A reference resolves when ComfyUI's
``get_full_path`` would find it: a file (links followed) in one of the
folders registered for its folder key, ``extra_model_paths.yaml`` included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pumasfs.adopt.listing import FOLDER_KEYS, LEGACY, resolves
from pumasfs.planning import extra_paths
from pumasfs.planning.installs import AppInstall

# Loader node -> (input name, widget index, folder key) for each model it names.
LOADERS: dict[str, list[tuple[str, int, str]]] = {
    "CheckpointLoaderSimple": [("ckpt_name", 0, "checkpoints")],
    "ImageOnlyCheckpointLoader": [("ckpt_name", 0, "checkpoints")],
    "LoraLoader": [("lora_name", 0, "loras")],
    "LoraLoaderModelOnly": [("lora_name", 0, "loras")],
    "VAELoader": [("vae_name", 0, "vae")],
    "UNETLoader": [("unet_name", 0, "diffusion_models")],
    "CLIPLoader": [("clip_name", 0, "text_encoders")],
    "DualCLIPLoader": [("clip_name1", 0, "text_encoders"), ("clip_name2", 1, "text_encoders")],
    "TripleCLIPLoader": [("clip_name1", 0, "text_encoders"), ("clip_name2", 1, "text_encoders"),
                         ("clip_name3", 2, "text_encoders")],
    "ControlNetLoader": [("control_net_name", 0, "controlnet")],
    "UpscaleModelLoader": [("model_name", 0, "upscale_models")],
    "CLIPVisionLoader": [("clip_name", 0, "clip_vision")],
    "StyleModelLoader": [("style_model_name", 0, "style_models")],
    "HypernetworkLoader": [("hypernetwork_name", 0, "hypernetworks")],
    "GLIGENLoader": [("gligen_name", 0, "gligen")],
    "PhotoMakerLoader": [("photomaker_model_name", 0, "photomaker")],
    # Custom nodes (Impact Pack): their folders under models/.
    "SAMLoader": [("model_name", 0, "sams")],
    "UltralyticsDetectorProvider": [("model_name", 0, "ultralytics")],
}
CUSTOM_KEYS: dict[str, tuple[str, ...]] = {"sams": ("sams",), "ultralytics": ("ultralytics",)}


class _UINode(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: Any = None
    type: str = ""
    widgets_values: list[Any] | dict[str, Any] = Field(default_factory=list)


class _UIWorkflow(BaseModel):
    model_config = ConfigDict(extra="allow")
    nodes: list[_UINode]


class _APINode(BaseModel):
    model_config = ConfigDict(extra="allow")
    class_type: str
    inputs: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Reference:
    workflow: str  # relative to the install's user/ folder
    node: str
    key: str  # the folder key (loras, checkpoints, ...)
    name: str

    def to_json(self) -> dict[str, str]:
        return {"workflow": self.workflow, "node": self.node, "folder": self.key, "name": self.name}


def workflow_files(install: Path) -> list[Path]:
    user = install / "user"
    out: list[Path] = []
    try:
        users = sorted(p for p in user.iterdir() if p.is_dir())
    except OSError:
        return out
    for u in users:
        wf = u / "workflows"
        for dirpath, dirnames, filenames in os.walk(wf):
            dirnames.sort()
            out += [Path(dirpath) / n for n in sorted(filenames) if n.lower().endswith(".json")]
    return out


def references_in(raw: bytes, where: str) -> list[Reference]:
    """Every model a workflow (UI or API format) names; an unreadable file names none."""
    out: list[Reference] = []
    try:
        ui = _UIWorkflow.model_validate_json(raw)
    except (ValidationError, ValueError):
        ui = None
    if ui is not None:
        for n in ui.nodes:
            values = n.widgets_values
            for input_name, idx, key in LOADERS.get(n.type, []):
                v = values.get(input_name) if isinstance(values, dict) else (values[idx] if idx < len(values) else None)
                if isinstance(v, str) and v:
                    out.append(Reference(where, str(n.id), key, v))
        return out
    try:
        import json

        data = json.loads(raw)
    except ValueError:
        return out
    if not isinstance(data, dict):
        return out
    for node_id, body in data.items():
        try:
            node = _APINode.model_validate(body)
        except ValidationError:
            continue
        for input_name, _idx, key in LOADERS.get(node.class_type, []):
            v = node.inputs.get(input_name)
            if isinstance(v, str) and v:
                out.append(Reference(where, str(node_id), key, v))
    return out


def key_folders(app: AppInstall) -> dict[str, list[str]]:
    """Folder key -> the folders ComfyUI searches for it in this install."""
    models = str(app.models_path)
    out: dict[str, list[str]] = {k: [os.path.join(models, f) for f in fs] for k, fs in FOLDER_KEYS.items()}
    for k, fs in CUSTOM_KEYS.items():
        out[k] = [os.path.join(models, f) for f in fs]
    extra, _error = extra_paths.extra_folders(app.path)
    for key, paths in extra.items():
        out.setdefault(LEGACY.get(key, key), []).extend(str(p) for p in paths)
    return out


def all_references(app: AppInstall) -> list[Reference]:
    out: list[Reference] = []
    user = app.path / "user"
    for p in workflow_files(app.path):
        try:
            raw = p.read_bytes()
        except OSError:
            continue
        out += references_in(raw, os.path.relpath(p, user))
    return out


def unresolved_references(app: AppInstall) -> list[Reference]:
    """The references of the install's saved workflows that ComfyUI could not load."""
    folders = key_folders(app)
    return [r for r in all_references(app) if not resolves(folders.get(r.key, []), r.name)]
