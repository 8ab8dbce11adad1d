"""An install's mode: how it is shown the one Plan, and where its tree lives.

- ``links``: links in the app's own models folder (``pumas materialize``).
- ``yaml``: the same links, built by the same materializer (registry and
  incremental sync included) in a tree under the library root,
  ``launcher-data/trees/<install>/``; the app's ``extra_model_paths.yaml``
  gets one section of ours pointing every folder key at that tree.  Nothing
  is written into the app's folder but that one section.
- ``view``: the same tree folder is the mount point of a FUSE content view
  (``pumas mount --content``), for apps in sandboxes that cannot follow links
  out; the yaml section is the same.

This module is pure: where the tree goes and which yaml keys name which tree
folders.  The steps that switch modes are in ``usecases/install_mode.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pumasfs.base.paths import Layout

# ComfyUI's folder keys (folder_paths.folder_names_and_paths, 2025) and the
# folders under models/ each one scans.  A yaml key is mapped through
# folder_paths.map_legacy ("clip" -> "text_encoders", "unet" ->
# "diffusion_models"); "t2i_adapter" is no key at all, only a second folder of
# "controlnet", so a tree folder of that name must be listed under
# "controlnet" or ControlNetLoader never sees it.
COMFYUI_KEY_OF_FOLDER: dict[str, str] = {
    "clip": "text_encoders",
    "text_encoders": "text_encoders",
    "unet": "diffusion_models",
    "diffusion_models": "diffusion_models",
    "t2i_adapter": "controlnet",
    "controlnet": "controlnet",
}
COMFYUI_CORE_KEYS = frozenset({
    "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision", "style_models",
    "embeddings", "diffusers", "vae_approx", "controlnet", "gligen", "upscale_models", "custom_nodes",
    "hypernetworks", "photomaker", "classifiers", "model_patches", "audio_encoders", "latent_upscale_models",
})
YAML_KINDS = frozenset({"comfyui"})


def trees_dir(layout: Layout) -> Path:
    return layout.launcher_data / "trees"


def tree_dir(layout: Layout, install_name: str) -> Path:
    """Where an install's tree is built (yaml) or its view mounted (view)."""
    return trees_dir(layout) / install_name


def literal_folder(target: str) -> str | None:
    """A map target's folder without placeholders: ``loras/{family}`` -> ``loras``; None if it starts with one."""
    parts: list[str] = []
    for part in target.strip("/").split("/"):
        if "{" in part:
            break
        parts.append(part)
    return "/".join(parts) or None


def comfyui_yaml_folders(folders: Iterable[str]) -> dict[str, list[str]]:
    """ComfyUI yaml keys -> tree folders (relative to the tree) for the plan's folders.

    Aliased folders join their key (``clip`` under ``text_encoders``,
    ``t2i_adapter`` under ``controlnet``).  A nested custom-node folder
    (``ultralytics/bbox``) gets the key its node registers
    (``ultralytics_bbox``) and its parent folder's key (``ultralytics``),
    which the Impact Pack reads too; below a core key (``loras/sdxl``) the
    parent key alone lists it, since ComfyUI walks folders recursively.
    """
    out: dict[str, list[str]] = {}

    def put(key: str, folder: str) -> None:
        paths = out.setdefault(key, [])
        if folder not in paths:
            paths.append(folder)

    for folder in sorted(set(folders)):
        top = folder.split("/")[0]
        put(COMFYUI_KEY_OF_FOLDER.get(top, top), top)
        if "/" in folder and COMFYUI_KEY_OF_FOLDER.get(top, top) not in COMFYUI_CORE_KEYS:
            put(folder.replace("/", "_"), folder)
    return dict(sorted(out.items()))


def plan_folders(targets: Iterable[str], plan_paths: Iterable[str]) -> set[str]:
    """The tree folders the yaml must name: every map target's literal folder, and every top folder in the plan.

    The map's targets keep the yaml stable while the library changes (an
    empty folder is simply not there yet, which ComfyUI accepts); the plan's
    own top folders catch what no rule names (a model pinned by adoption to
    a folder of its own, a target that starts with a placeholder).
    """
    out = {f for t in targets if (f := literal_folder(t))}
    for p in plan_paths:
        if "/" in p:
            top = p.split("/")[0]
            if not any(f == top or f.startswith(top + "/") for f in out):
                out.add(top)
    return out


def section_note(install_name: str) -> str:
    return (f"Written by pumas for the install {install_name!r}: pumas rewrites this section only, and\n"
            f"removes it with `pumas app set {install_name} --mode links` or `pumas app remove {install_name}`.")
