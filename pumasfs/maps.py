"""Translation maps: which library models an app sees, and in which folder.

A map is a JSON file in ``launcher-data/config/model-library-translation/``
for one app kind, a PEP 440 version range and a variant, optionally for one
install only.  Its rules select models by their metadata and name a target
folder.  Maps are strict: an unknown field is an error, because a typo such
as ``"subtpye"`` would otherwise silently match every model.  An invalid
file is refused as a whole, with the file and the field in the message.

Selection for an install (``select_map``): a per-install override wins;
then the map of the install's kind whose version range matches the
install's version most narrowly; ``"*"`` matches any version.  Maps shipped
with pumas (``pumasfs/data/maps``) are used only when the maps folder has
none for the kind; ``ensure_default_map`` copies (or, for ComfyUI,
generates) one there on ``pumas app add`` so users can edit it.
"""

from __future__ import annotations

import json
import os
import re
import string
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import atomic
from .apps import AppInstall, discover_model_folders
from .errors import NotFound, PumasError
from .jsonfile import parse_model, read_bytes
from .paths import Layout
from .relpath import is_safe_relpath

MAP_SCHEMA = 1
PLACEHOLDERS = frozenset({"family", "cleaned_name", "publisher", "repo", "model_type", "subtype"})
_KIND = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _lower(v: list[str]) -> list[str]:
    return [s.strip().lower() for s in v]


class Match(_Strict):
    """What a rule selects.  Every given field must hold (AND); a list holds
    when any of its values matches (OR); ``exclude_tags`` always wins."""

    model_type: list[str] = Field(default_factory=list)
    subtype: list[str] = Field(default_factory=list)
    family: list[str] = Field(default_factory=list)
    base_model: list[str] = Field(default_factory=list)
    format: list[str] = Field(default_factory=list)
    layout: list[str] = Field(default_factory=list)  # "file" | "folder"
    tags_any: list[str] = Field(default_factory=list)
    exclude_tags: list[str] = Field(default_factory=list)
    filename_glob: list[str] = Field(default_factory=list)  # against the primary file's name
    min_size: int | None = Field(default=None, ge=0)
    max_size: int | None = Field(default=None, ge=0)

    @field_validator(
        "model_type", "subtype", "family", "base_model", "format", "layout", "tags_any", "exclude_tags",
        mode="before",
    )
    @classmethod
    def _lowered(cls, v: object) -> object:
        return _lower(v) if isinstance(v, list) and all(isinstance(s, str) for s in v) else v

    @field_validator("layout")
    @classmethod
    def _layouts(cls, v: list[str]) -> list[str]:
        for item in v:
            if item not in ("file", "folder"):
                raise ValueError(f"layout must be 'file' or 'folder', not {item!r}")
        return v


class MapExclude(_Strict):
    """Models the map never places, whatever the rules say (a guard)."""

    model_type: list[str] = Field(default_factory=list)
    family: list[str] = Field(default_factory=list)  # bases the app cannot load (A1111 and Flux)
    tags: list[str] = Field(default_factory=list)

    @field_validator("model_type", "family", "tags", mode="before")
    @classmethod
    def _lowered(cls, v: object) -> object:
        return _lower(v) if isinstance(v, list) and all(isinstance(s, str) for s in v) else v


def _check_relative(value: str, what: str, *, placeholders: bool) -> str:
    if value == ".":
        return value
    if "\\" in value:
        raise ValueError(f"{what} must use '/' separators: {value!r}")
    probe = value
    if placeholders:
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as e:
            raise ValueError(f"{what} has a malformed placeholder: {e}") from None
        for name in names:
            if name not in PLACEHOLDERS:
                raise ValueError(
                    f"unknown placeholder {{{name}}} in {value!r} (known: {', '.join(sorted(PLACEHOLDERS))})"
                )
        probe = value.format(**{p: "x" for p in PLACEHOLDERS})
    if not probe or probe.startswith("/"):
        raise ValueError(f"{what} must be a relative folder, not {value!r}")
    if not is_safe_relpath(probe):
        raise ValueError(f"{what} {value!r} has an empty, '.' or '..' part (it must stay inside the app)")
    return value


class Rule(_Strict):
    name: str
    priority: int = 0  # higher first; ties keep file order
    target: str  # folder relative to the map's base; may hold {placeholders}
    match: Match = Field(default_factory=Match)
    companions: bool = True  # also link same-stem .yaml configs and previews beside the file

    @field_validator("target")
    @classmethod
    def _target(cls, v: str) -> str:
        return _check_relative(v, "target", placeholders=True)


def _valid_range(v: str) -> str:
    v = v.strip()
    if v in ("", "*"):
        return "*"
    try:
        SpecifierSet(v)
    except InvalidSpecifier:
        raise ValueError(f"not a PEP 440 version range: {v!r} (use e.g. \">=0.3,<0.4\", or \"*\")") from None
    return v


class TranslationMap(_Strict):
    schema_version: int = MAP_SCHEMA
    app: str  # the app kind: comfyui, a1111, lmstudio, ...
    version_range: str = "*"
    variant: str = "default"
    install: str | None = None  # set: a per-install override for that install name
    base: str = "models"  # "models" = the install's models folder; else relative to the install root
    description: str = ""
    exclude: MapExclude = Field(default_factory=MapExclude)
    discovered_folders: list[str] = Field(default_factory=list)  # informational, written by pumas
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("schema_version")
    @classmethod
    def _schema(cls, v: int) -> int:
        if v > MAP_SCHEMA or v < 1:
            raise ValueError(f"schema_version {v} is not supported by this pumas (it reads {MAP_SCHEMA})")
        return v

    @field_validator("app")
    @classmethod
    def _kind(cls, v: str) -> str:
        if not _KIND.match(v):
            raise ValueError(f"app kind {v!r} must be lowercase letters, digits, '.', '_' or '-'")
        return v

    @field_validator("version_range")
    @classmethod
    def _range(cls, v: str) -> str:
        return _valid_range(v)

    @field_validator("base")
    @classmethod
    def _base(cls, v: str) -> str:
        return v if v == "models" else _check_relative(v, "base", placeholders=False)

    def ordered_rules(self) -> list[Rule]:
        """Rules by priority, highest first; equal priorities keep file order."""
        return [r for _, r in sorted(enumerate(self.rules), key=lambda t: (-t[1].priority, t[0]))]


# -- loading -----------------------------------------------------------------


def parse_map(data: bytes | str, name: str) -> TranslationMap:
    """Validate map text; errors name ``name`` and the field (``rules[3].target``)."""
    hint = "unknown field (a typo? see contrib/maps/README.md for the fields a map may have)"
    return parse_model(data, TranslationMap, name, invalid="", unknown_field=hint)


def load_map(path: str | os.PathLike[str]) -> TranslationMap:
    path = Path(path)
    raw = read_bytes(path)
    if raw is None:
        raise NotFound(f"{path}: no such map")
    return parse_map(raw, str(path))


@dataclass(frozen=True)
class MapError:
    path: Path
    message: str
    app: str | None  # the kind the file claims, when readable: lets other kinds proceed


@dataclass
class MapSet:
    maps: list[tuple[Path, TranslationMap]] = field(default_factory=list)
    errors: list[MapError] = field(default_factory=list)

    def for_kind(self, kind: str) -> list[tuple[Path, TranslationMap]]:
        return [(p, m) for p, m in self.maps if m.app == kind]

    def errors_for(self, kind: str) -> list[MapError]:
        return [e for e in self.errors if e.app in (None, kind)]


def _claimed_app(raw: bytes) -> str | None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    app = data.get("app") if isinstance(data, dict) else None
    return app if isinstance(app, str) else None


def load_maps(layout: Layout) -> MapSet:
    """Every map in the maps folder, sorted by file name.

    An invalid file contributes nothing but an error; ``select_map`` refuses
    to pick a map for a kind while a file that may belong to it is invalid,
    so a broken override never silently falls back to the default.
    """
    out = MapSet()
    try:
        paths = sorted(p for p in layout.maps_dir.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except OSError:
        return out
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError as e:
            out.errors.append(MapError(path, f"{path}: cannot read: {e.strerror}", None))
            continue
        try:
            out.maps.append((path, parse_map(raw, str(path))))
        except PumasError as e:
            out.errors.append(MapError(path, e.message, _claimed_app(raw)))
    return out


def builtin_maps() -> list[tuple[str, TranslationMap]]:
    """Maps shipped with pumas (the same files as contrib/maps), by file name."""
    out: list[tuple[str, TranslationMap]] = []
    folder = resources.files("pumasfs") / "data" / "maps"
    try:
        items = sorted(folder.iterdir(), key=lambda p: p.name)
    except (FileNotFoundError, NotADirectoryError):
        return out
    for item in items:
        if item.name.endswith(".json"):
            out.append((item.name, parse_map(item.read_bytes(), f"(built-in) {item.name}")))
    return out


def known_kinds(layout: Layout) -> set[str]:
    """Every kind ``pumas app add`` accepts: comfyui, plus every kind with a map."""
    kinds = {"comfyui"} | {m.app for _, m in builtin_maps()} | {m.app for _, m in load_maps(layout).maps}
    return kinds


# -- selection ---------------------------------------------------------------


@dataclass(frozen=True)
class SelectedMap:
    map: TranslationMap
    path: Path | None  # None: a built-in map (not in the maps folder)
    reason: str

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "(built-in)"


def range_matches(version_range: str, version: str | None) -> bool:
    if version_range == "*":
        return True
    if version is None:
        return False
    try:
        return SpecifierSet(version_range).contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _num(release: tuple[int, ...]) -> float:
    r = (list(release) + [0, 0, 0])[:3]
    return r[0] * 1e6 + r[1] * 1e3 + r[2]


def range_width(version_range: str) -> tuple[int, float]:
    """How wide a range is, for "narrowest wins": (class, span).

    Classes: 0 an exact version, 1 bounded on both sides, 2 one-sided,
    3 ``"*"``.  Within class 1 the span between the bounds decides.
    """
    if version_range == "*":
        return (3, 0.0)
    lower, upper = None, None
    for spec in SpecifierSet(version_range):
        op, ver = spec.operator, spec.version
        if op in ("==", "===") and not ver.endswith(".*"):
            return (0, 0.0)
        try:
            rel = Version(ver.removesuffix(".*")).release
        except InvalidVersion:
            continue
        if op == "==":  # X.Y.*
            lo, hi = _num(rel), _num(rel[:-1] + (rel[-1] + 1,))
        elif op == "~=":
            lo, hi = _num(rel), _num(rel[:-2] + (rel[-2] + 1,)) if len(rel) >= 2 else _num(rel) + 1e6
        elif op in (">", ">="):
            lo, hi = _num(rel), None
        elif op in ("<", "<="):
            lo, hi = None, _num(rel)
        else:  # != narrows nothing useful
            continue
        if lo is not None:
            lower = lo if lower is None else max(lower, lo)
        if hi is not None:
            upper = hi if upper is None else min(upper, hi)
    if lower is not None and upper is not None:
        return (1, max(upper - lower, 0.0))
    return (2, 0.0)


def _variant_ok(m: TranslationMap, app: AppInstall) -> bool:
    return m.variant == app.variant


def select_map(layout: Layout, app: AppInstall, maps: MapSet | None = None) -> SelectedMap:
    """The most specific map for an install, and a sentence saying why."""
    maps = load_maps(layout) if maps is None else maps
    bad = maps.errors_for(app.kind)
    if bad:
        raise PumasError(f"invalid translation map, nothing applied for {app.name}: {bad[0].message}")
    version_txt = app.version or "an unknown version"
    candidates = [(p, m) for p, m in maps.for_kind(app.kind) if m.install in (None, app.name)]
    # An install that asks for a variant falls back to the default variant.
    wanted = [(p, m) for p, m in candidates if _variant_ok(m, app)] or [
        (p, m) for p, m in candidates if m.variant == "default"
    ]
    matching = [(p, m) for p, m in wanted if range_matches(m.version_range, app.version)]
    if matching:
        ranked = sorted(
            matching,
            key=lambda t: (t[1].install is None, range_width(t[1].version_range), t[0].name),
        )
        path, best = ranked[0]
        ties = [p.name for p, m in ranked[1:]
                if (m.install is None) == (best.install is None)
                and range_width(m.version_range) == range_width(best.version_range)]
        variant = f" (variant {best.variant!r})" if best.variant != "default" else ""
        if best.install is not None:
            reason = (f"{path.name} is a per-install override for {app.name}{variant}; it wins over the "
                      f"{app.kind} maps shared by every install")
            if best.version_range != "*":
                reason += f" (its range {best.version_range!r} matches {version_txt})"
        elif best.version_range == "*":
            reason = (f"{path.name} is the {app.kind} map for any version ('*'){variant}; no map with a "
                      f"narrower range matches {version_txt}")
        else:
            reason = (f"{path.name} is the {app.kind} map{variant} whose version range {best.version_range!r} "
                      f"matches {version_txt} most narrowly")
        if ties:
            reason += f"; equally specific: {', '.join(ties)} (first file name wins)"
        return SelectedMap(best, path, reason)
    for name, m in builtin_maps():
        if m.app == app.kind and range_matches(m.version_range, app.version):
            return SelectedMap(m, None, f"no {app.kind} map in {layout.maps_dir} matches {version_txt}; "
                                        f"using the map shipped with pumas ({name})")
    if app.kind == "comfyui":
        m = default_comfyui_map(discover_model_folders(app))
        return SelectedMap(m, None, f"no comfyui map in {layout.maps_dir} matches {version_txt}; using the "
                                    "default generated from this install's folders (run `pumas app add` to save it)")
    raise NotFound(f"no translation map for {app.kind} {version_txt} in {layout.maps_dir}")


def plan_root(app: AppInstall, tmap: TranslationMap) -> Path:
    """The absolute folder a plan's paths for this install are relative to (its tree in yaml/view mode)."""
    return app.plan_dir(tmap.base)


# -- the default ComfyUI map -------------------------------------------------

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


def map_json(tmap: TranslationMap) -> str:
    """A map as readable JSON: identity fields always, empty match fields left out."""
    data = {
        "schema_version": tmap.schema_version,
        "app": tmap.app,
        "version_range": tmap.version_range,
        "variant": tmap.variant,
    }
    if tmap.install is not None:
        data["install"] = tmap.install
    data["base"] = tmap.base
    rest = tmap.model_dump(mode="json", exclude_defaults=True, exclude={"rules", *data})
    data.update(rest)
    data["rules"] = [
        {"name": r.name, "priority": r.priority, "target": r.target,
         **r.model_dump(mode="json", exclude_defaults=True, exclude={"name", "priority", "target"})}
        for r in tmap.rules
    ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _create_new(path: Path, data: bytes) -> bool:
    """Write ``path`` only if it does not exist, atomically; False if it did."""
    tmp = atomic.temp_name(path)
    atomic.write_bytes(tmp, data)
    try:
        os.link(tmp, path)  # fails instead of replacing a file someone else made
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    atomic.fsync_dir(path.parent)
    return True


def ensure_default_map(layout: Layout, app: AppInstall) -> Path | None:
    """Write ``<kind>-default.json`` when the maps folder has no map for the kind.

    ComfyUI's is generated from the install's folders; other kinds get a
    copy of the map shipped with pumas.  Returns the path written, or None.
    """
    maps = load_maps(layout)
    if maps.for_kind(app.kind) or any(e.app == app.kind for e in maps.errors):
        return None
    if app.kind == "comfyui":
        tmap: TranslationMap | None = default_comfyui_map(discover_model_folders(app))
    else:
        tmap = next((m for _, m in builtin_maps() if m.app == app.kind and m.install is None), None)
    if tmap is None:
        return None
    layout.maps_dir.mkdir(parents=True, exist_ok=True)
    path = layout.maps_dir / f"{app.kind}-default.json"
    return path if _create_new(path, map_json(tmap).encode("utf-8")) else None
