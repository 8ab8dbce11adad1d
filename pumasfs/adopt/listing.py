"""What ComfyUI lists in a model folder, by its own rules (folder_paths.py, facts only).

``get_filename_list`` walks each folder registered for a key with
``os.walk(followlinks=True)``, skipping folders named ``.git``, keeps files
whose lowercased ``os.path.splitext`` extension is in the key's set (every
file for an empty set), and returns the sorted union of paths relative to
each folder.  ``get_full_path`` resolves a name by ``os.path.isfile`` of the
folder joined with it (so a symlink counts when it leads to a file).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

PT_EXTENSIONS = frozenset({".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"})

# Folder key -> folders under models/ (both names of an aliased pair are scanned).
FOLDER_KEYS: dict[str, tuple[str, ...]] = {
    "checkpoints": ("checkpoints",), "loras": ("loras",), "vae": ("vae",),
    "text_encoders": ("text_encoders", "clip"), "diffusion_models": ("unet", "diffusion_models"),
    "clip_vision": ("clip_vision",), "style_models": ("style_models",), "embeddings": ("embeddings",),
    "controlnet": ("controlnet", "t2i_adapter"), "upscale_models": ("upscale_models",),
    "hypernetworks": ("hypernetworks",), "gligen": ("gligen",), "photomaker": ("photomaker",),
    "vae_approx": ("vae_approx",), "model_patches": ("model_patches",), "audio_encoders": ("audio_encoders",),
}
LEGACY = {"clip": "text_encoders", "unet": "diffusion_models"}


def list_folder(folder: str, extensions: Iterable[str] = PT_EXTENSIONS) -> list[str]:
    """One folder's listing, relative paths with '/' (ComfyUI's recursive_search + extension filter)."""
    exts = frozenset(extensions)
    out: list[str] = []
    if not os.path.isdir(folder):
        return out
    for dirpath, subdirs, filenames in os.walk(folder, followlinks=True, topdown=True):
        subdirs[:] = [d for d in subdirs if d != ".git"]
        for name in filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), folder)
            if not exts or os.path.splitext(rel)[-1].lower() in exts:
                out.append(rel.replace(os.sep, "/"))
    return sorted(out)


def list_key(folders: Iterable[str], extensions: Iterable[str] = PT_EXTENSIONS) -> list[str]:
    """A folder key's listing: the sorted union over its folders."""
    names: set[str] = set()
    for f in folders:
        names.update(list_folder(f, extensions))
    return sorted(names)


def resolves(folders: Iterable[str], name: str) -> bool:
    """ComfyUI's get_full_path: the first folder where ``name`` is a file (links followed)."""
    name = os.path.relpath(os.path.join("/", name), "/")
    return any(os.path.isfile(os.path.join(f, name)) for f in folders)
