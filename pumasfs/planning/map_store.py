"""Where translation maps are kept: the maps folder, the maps shipped with pumas, the default written on add.

Maps live in ``launcher-data/config/model-library-translation/``.  Maps
shipped with pumas (``pumasfs/data/maps``) are used only when the maps folder
has none for the kind; ``ensure_default_map`` copies (or, for ComfyUI,
generates) one there on ``pumas app add`` so users can edit it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pumasfs.base import atomic
from pumasfs.base.errors import NotFound, PumasError
from pumasfs.base.jsonfile import read_bytes
from pumasfs.base.paths import Layout
from pumasfs.planning.comfyui_map import default_comfyui_map
from pumasfs.planning.installs import AppInstall
from pumasfs.planning.map_schema import TranslationMap, map_json, parse_map
from pumasfs.planning.model_folders import discover_model_folders


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


# -- the default map of an install ------------------------------------------


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
