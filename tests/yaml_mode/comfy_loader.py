"""What ComfyUI lists for each folder key: its own rules, written again for the tests.

ComfyUI's code cannot be committed into this repository, so this module
implements exactly the rules of these upstream files (Comfy-Org/ComfyUI,
commit a125cd84b054a57729b5eecab930ca9408719832, October 2025):

- ``folder_paths.py``: the default ``folder_names_and_paths`` table (each key's
  folders under ``<base>/models`` and its extensions), ``supported_pt_extensions``,
  ``map_legacy`` (``unet`` -> ``diffusion_models``, ``clip`` -> ``text_encoders``),
  ``add_model_folder_path`` (a known key gets the path appended, or inserted
  first with ``is_default``; an unknown key gets ``([path], set())``, and an
  empty extension set lists every file), ``recursive_search``
  (``os.walk(followlinks=True)``, ``.git`` excluded, paths relative to the
  folder), ``filter_files_extensions`` (lower-cased ``splitext`` suffix) and
  ``get_filename_list_`` (the sorted union over a key's folders);
- ``utils/extra_config.py``, ``load_extra_path_config``: ``yaml.safe_load``;
  for every section that is not None, ``base_path`` is popped, expanded
  (``expandvars(expanduser())``) and made absolute against the yaml's folder;
  ``is_default`` is popped; every other value is split on ``"\\n"``, empty
  lines skipped, each path joined to ``base_path`` (or, without one, made
  absolute against the yaml's folder), ``normpath``-ed and added with
  ``add_model_folder_path``;
- ``main.py``, ``apply_custom_paths``: the yaml read is
  ``extra_model_paths.yaml`` beside ``main.py``.

When a ComfyUI checkout is at ``$PUMAS_TEST_COMFYUI`` the tests also run the
real code (``real_listing``) and compare.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

SUPPORTED_PT_EXTENSIONS = {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}

# folder_paths.py: key -> (folders under models/ in order, extensions); custom_nodes aside.
_DEFAULTS: list[tuple[str, list[str], set[str] | list[str]]] = [
    ("checkpoints", ["checkpoints"], SUPPORTED_PT_EXTENSIONS),
    ("configs", ["configs"], [".yaml"]),
    ("loras", ["loras"], SUPPORTED_PT_EXTENSIONS),
    ("vae", ["vae"], SUPPORTED_PT_EXTENSIONS),
    ("text_encoders", ["text_encoders", "clip"], SUPPORTED_PT_EXTENSIONS),
    ("diffusion_models", ["unet", "diffusion_models"], SUPPORTED_PT_EXTENSIONS),
    ("clip_vision", ["clip_vision"], SUPPORTED_PT_EXTENSIONS),
    ("style_models", ["style_models"], SUPPORTED_PT_EXTENSIONS),
    ("embeddings", ["embeddings"], SUPPORTED_PT_EXTENSIONS),
    ("diffusers", ["diffusers"], ["folder"]),
    ("vae_approx", ["vae_approx"], SUPPORTED_PT_EXTENSIONS),
    ("controlnet", ["controlnet", "t2i_adapter"], SUPPORTED_PT_EXTENSIONS),
    ("gligen", ["gligen"], SUPPORTED_PT_EXTENSIONS),
    ("upscale_models", ["upscale_models"], SUPPORTED_PT_EXTENSIONS),
    ("hypernetworks", ["hypernetworks"], SUPPORTED_PT_EXTENSIONS),
    ("photomaker", ["photomaker"], SUPPORTED_PT_EXTENSIONS),
    ("classifiers", ["classifiers"], {""}),
    ("model_patches", ["model_patches"], SUPPORTED_PT_EXTENSIONS),
    ("audio_encoders", ["audio_encoders"], SUPPORTED_PT_EXTENSIONS),
]
KEYS = [k for k, _, _ in _DEFAULTS]


def map_legacy(folder_name: str) -> str:
    return {"unet": "diffusion_models", "clip": "text_encoders"}.get(folder_name, folder_name)


class FolderPaths:
    """``folder_paths``' module state for one ComfyUI base directory."""

    def __init__(self, base_path: str | os.PathLike[str]) -> None:
        models_dir = self.models_dir = os.path.join(os.path.abspath(base_path), "models")
        self.folder_names_and_paths: dict[str, tuple[list[str], set[str] | list[str]]] = {
            key: ([os.path.join(models_dir, f) for f in folders], exts) for key, folders, exts in _DEFAULTS
        }

    def add_model_folder_path(self, folder_name: str, full_folder_path: str, is_default: bool = False) -> None:
        folder_name = map_legacy(folder_name)
        if folder_name in self.folder_names_and_paths:
            paths, _exts = self.folder_names_and_paths[folder_name]
            if full_folder_path in paths:
                if is_default and paths[0] != full_folder_path:
                    paths.remove(full_folder_path)
                    paths.insert(0, full_folder_path)
            elif is_default:
                paths.insert(0, full_folder_path)
            else:
                paths.append(full_folder_path)
        else:
            self.folder_names_and_paths[folder_name] = ([full_folder_path], set())

    def load_extra_path_config(self, yaml_path: str | os.PathLike[str]) -> None:
        with open(yaml_path, encoding="utf-8") as stream:
            config = yaml.safe_load(stream)
        yaml_dir = os.path.dirname(os.path.abspath(yaml_path))
        for c in config:
            conf = config[c]
            if conf is None:
                continue
            base_path = None
            if "base_path" in conf:
                base_path = conf.pop("base_path")
                base_path = os.path.expandvars(os.path.expanduser(base_path))
                if not os.path.isabs(base_path):
                    base_path = os.path.abspath(os.path.join(yaml_dir, base_path))
            is_default = False
            if "is_default" in conf:
                is_default = conf.pop("is_default")
            for x in conf:
                for y in conf[x].split("\n"):
                    if len(y) == 0:
                        continue
                    full_path = y
                    if base_path:
                        full_path = os.path.join(base_path, full_path)
                    elif not os.path.isabs(full_path):
                        full_path = os.path.abspath(os.path.join(yaml_dir, y))
                    self.add_model_folder_path(x, os.path.normpath(full_path), is_default)

    def register_node_folder(self, key: str, folder: str) -> None:
        """What a custom node does at import time, after the yaml was read (ComfyUI_IPAdapter_plus,
        ``IPAdapterPlus.py``): keep the paths the key already has (the yaml's), else start from
        ``models/<folder>``, and set the weights extensions."""
        if key in self.folder_names_and_paths:
            paths, _ = self.folder_names_and_paths[key]
        else:
            paths = [os.path.join(self.models_dir, folder)]
        self.folder_names_and_paths[key] = (paths, SUPPORTED_PT_EXTENSIONS)

    def get_filename_list(self, folder_name: str) -> list[str]:
        folder_name = map_legacy(folder_name)
        out: set[str] = set()
        folders, exts = self.folder_names_and_paths[folder_name]
        for x in folders:
            out.update(filter_files_extensions(recursive_search(x, excluded_dir_names=[".git"]), exts))
        return sorted(out)


def recursive_search(directory: str, excluded_dir_names: list[str]) -> list[str]:
    if not os.path.isdir(directory):
        return []
    result = []
    for dirpath, subdirs, filenames in os.walk(directory, followlinks=True, topdown=True):
        subdirs[:] = [d for d in subdirs if d not in excluded_dir_names]
        for file_name in filenames:
            result.append(os.path.relpath(os.path.join(dirpath, file_name), directory))
    return result


def filter_files_extensions(files: list[str], extensions: set[str] | list[str]) -> list[str]:
    return sorted(f for f in files if os.path.splitext(f)[-1].lower() in extensions or len(extensions) == 0)


def listing(comfy_root: Path, keys: list[str] | None = None, nodes: dict[str, str] | None = None
            ) -> dict[str, list[str]]:
    """What ComfyUI at ``comfy_root`` lists per key, its extra_model_paths.yaml applied as main.py does.

    ``nodes`` (key -> folder under models/) are custom nodes loaded after the yaml, as in ComfyUI.
    """
    fp = FolderPaths(comfy_root)
    yaml_path = comfy_root / "extra_model_paths.yaml"
    if yaml_path.is_file():
        fp.load_extra_path_config(yaml_path)
    for key, folder in (nodes or {}).items():
        fp.register_node_folder(key, folder)
    return {k: fp.get_filename_list(k) for k in (keys or list(fp.folder_names_and_paths))}


# -- the real ComfyUI, when a checkout is given ---------------------------------------

_REAL = r"""
import json, os, sys
checkout, base, keys, nodes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
sys.path.insert(0, checkout)
import comfy.options
comfy.options.enable_args_parsing()
sys.argv = ["main.py", "--base-directory", base]
import folder_paths
import utils.extra_config
yaml_path = os.path.join(base, "extra_model_paths.yaml")
if os.path.isfile(yaml_path):
    utils.extra_config.load_extra_path_config(yaml_path)
for key, folder in nodes.items():  # as ComfyUI_IPAdapter_plus registers "ipadapter"
    paths = folder_paths.folder_names_and_paths[key][0] if key in folder_paths.folder_names_and_paths \
        else [os.path.join(folder_paths.models_dir, folder)]
    folder_paths.folder_names_and_paths[key] = (paths, folder_paths.supported_pt_extensions)
print(json.dumps({k: folder_paths.get_filename_list(k) for k in keys
                  if k in folder_paths.folder_names_and_paths}))
"""


def real_listing(checkout: Path, comfy_root: Path, keys: list[str], nodes: dict[str, str] | None = None
                 ) -> dict[str, list[str]]:
    """ComfyUI's own folder_paths + utils.extra_config, run in a subprocess with --base-directory=comfy_root.

    ``--base-directory`` moves ``models/`` to ``comfy_root``; the yaml is the
    one ``main.apply_custom_paths`` would read from an install at that root.
    """
    p = subprocess.run([sys.executable, "-c", _REAL, str(checkout), str(comfy_root), json.dumps(keys),
                        json.dumps(nodes or {})],
                       capture_output=True, text=True, timeout=120, cwd=str(comfy_root))
    if p.returncode != 0:
        raise AssertionError(f"ComfyUI's loader failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])
