"""The default ComfyUI map: a rule per ComfyUI model folder the install has.

ComfyUI's folder keys (``folder_paths.py``), the folders custom nodes add,
and the pairs ComfyUI scans under one key, as data; ``default_comfyui_map``
turns the folders found in an install into the map ``pumas app add`` writes.
"""

from __future__ import annotations

from pumasfs.planning.map_schema import MapExclude, Match, Rule, TranslationMap

# ComfyUI folder -> library subtypes it takes (subtype is ComfyUI's folder key,
# plus a few spellings other tools use).  Order = rule order in the map.
COMFYUI_FOLDERS: dict[str, list[str]] = {
    "checkpoints": ["checkpoints", "checkpoint"],
    "loras": ["loras", "lora", "lycoris"],
    "vae": ["vae"],
    "vae_approx": ["vae_approx", "taesd"],
    "clip_vision": ["clip_vision"],
    "style_models": ["style_models"],
    "embeddings": ["embeddings", "embedding", "textual_inversion"],
    "hypernetworks": ["hypernetworks", "hypernetwork"],
    "upscale_models": ["upscale_models", "upscaler"],
    "latent_upscale_models": ["latent_upscale_models"],
    "gligen": ["gligen"],
    "photomaker": ["photomaker"],
    "model_patches": ["model_patches"],
    "audio_encoders": ["audio_encoders"],
    "classifiers": ["classifiers"],
    "background_removal": ["background_removal"],
    "frame_interpolation": ["frame_interpolation"],
    "geometry_estimation": ["geometry_estimation"],
    "optical_flow": ["optical_flow"],
    "detection": ["detection"],
    # Folders custom nodes add, when the library has the matching subtype.
    "ipadapter": ["ipadapter"],
    "ultralytics/bbox": ["ultralytics/bbox", "ultralytics_bbox"],
    "ultralytics/segm": ["ultralytics/segm", "ultralytics_segm"],
    "sams": ["sams", "sam"],
    "insightface": ["insightface"],
    "facerestore_models": ["facerestore_models", "face_restore"],
    "instantid": ["instantid"],
    "pulid": ["pulid"],
}
# Folders of custom nodes that alone load some files (AnimateDiff-Evolved's motion modules, x-flux-comfyui's
# IP-Adapters): always given a rule, so such a file lands where that node looks (the folder is made on the
# first link). ComfyUI itself never reads them: an install without the node is not disturbed.
# ComfyUI-GGUF reads the "unet"/"clip" keys: the diffusion_models/text_encoders rules serve it.
COMFYUI_CUSTOM_NODE_FOLDERS: dict[str, list[str]] = {
    "animatediff_models": ["animatediff_models"],
    "animatediff_motion_lora": ["animatediff_motion_lora"],
    "xlabs/ipadapters": ["xlabs_ipadapters"],
    "xlabs/loras": ["xlabs_loras"],
}
# ComfyUI scans both folders of a pair under one key: a model linked into
# both would be listed twice.  One rule, to the preferred folder present.
COMFYUI_ALIASED: list[tuple[str, str, list[str]]] = [
    ("text_encoders", "clip", ["text_encoders", "clip", "text_encoder"]),
    ("diffusion_models", "unet", ["diffusion_models", "unet"]),
]
# controlnet and t2i_adapter share a key too; each subtype keeps its folder,
# and goes to the other one when its own is missing.
COMFYUI_CONTROL: list[tuple[str, str, list[str]]] = [
    ("controlnet", "t2i_adapter", ["controlnet"]),
    ("t2i_adapter", "controlnet", ["t2i_adapter"]),
]


def default_comfyui_map(discovered_folders: list[str]) -> TranslationMap:
    """The map written on the first ``pumas app add comfyui``: a rule per known folder found."""
    found = set(discovered_folders)
    rules: list[Rule] = []
    if "diffusers" in found:
        rules.append(Rule(name="diffusers", priority=100, target="diffusers",
                          match=Match(layout=["folder"])))
    placed: set[str] = set()
    for preferred, legacy, subtypes in COMFYUI_ALIASED:
        target = preferred if preferred in found else legacy if legacy in found else None
        if target:
            rules.append(Rule(name=preferred, priority=50, target=target,
                              match=Match(subtype=subtypes, layout=["file"])))
            placed.update(subtypes)
    for own, other, subtypes in COMFYUI_CONTROL:
        target = own if own in found else other if other in found else None
        if target:
            rules.append(Rule(name=own, priority=50, target=target, match=Match(subtype=subtypes, layout=["file"])))
    for folder, subtypes in COMFYUI_FOLDERS.items():
        if folder in found:
            rules.append(Rule(name=folder, priority=50, target=folder,
                              match=Match(subtype=subtypes, layout=["file"])))
    for folder, subtypes in COMFYUI_CUSTOM_NODE_FOLDERS.items():
        rules.append(Rule(name=folder, priority=50, target=folder, match=Match(subtype=subtypes, layout=["file"])))
    return TranslationMap(
        app="comfyui",
        version_range="*",
        description="Default ComfyUI map written by `pumas app add`; edit freely (pumas never rewrites it).",
        exclude=MapExclude(model_type=["llm"]),
        discovered_folders=sorted(found),
        rules=rules,
    )
