"""Which translation map an install gets, and why.

Selection for an install (``select_map``): a per-install override wins;
then the map of the install's kind whose version range matches the
install's version most narrowly; ``"*"`` matches any version.  With no map
in the maps folder: the map shipped with pumas, then (ComfyUI) the default
generated from the install's folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from pumasfs.base.errors import NotFound, PumasError
from pumasfs.base.paths import Layout
from pumasfs.planning.comfyui_map import default_comfyui_map
from pumasfs.planning.installs import AppInstall
from pumasfs.planning.map_schema import TranslationMap
from pumasfs.planning.map_store import MapSet, builtin_maps, load_maps
from pumasfs.planning.model_folders import discover_model_folders


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
