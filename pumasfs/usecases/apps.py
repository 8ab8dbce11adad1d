"""Use cases over app installs: register, list, inspect and remove them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pumasfs.base.errors import PumasError
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.planning.installs import AppInstall
from pumasfs.usecases.workspace import Workspace

if TYPE_CHECKING:
    from materializer.report import SyncReport
    from pumasfs.planning.map_schema import TranslationMap
    from pumasfs.usecases.install_mode import ModeResult

# Folders the default ComfyUI map leaves alone on purpose.
WHY_NO_RULE = {
    "clip": "legacy twin of text_encoders: models go into one of the pair, so ComfyUI never lists them twice",
    "unet": "legacy twin of diffusion_models: models go into one of the pair",
    "configs": "configs travel beside their checkpoints",
}


def discover_installs(ws: Workspace) -> list[AppInstall]:
    """Register ComfyUI installs under ``<root>/comfyui-versions/`` (each with its default map)."""
    from pumasfs.planning.app_discovery import autodiscover_comfyui

    return autodiscover_comfyui(ws.writable_layout())


@dataclass
class AddedApp:
    """A newly registered install and what came with it."""

    install: AppInstall
    map_written: Path | None  # the default map written for its kind, if the maps folder had none
    map_reason: str | None  # why the selected map applies
    map_error: str | None  # no usable map (the install is registered anyway)
    discovered: list[AppInstall] = field(default_factory=list)  # other installs found on the way
    warnings: list[str] = field(default_factory=list)
    mode: ModeResult | None = None  # the yaml/view mode built right away (issue 18)


def add_app(ws: Workspace, kind: str, path: Path, *, name: str | None = None, version: str | None = None,
            link_type: str = "auto", mode: str = "links", reporter: Reporter = NULL_REPORTER) -> AddedApp:
    """Register an install at ``path``; creates nothing in the app's folder.

    With ``mode`` yaml or view, the install's tree is built right away and
    one section of its extra_model_paths.yaml names it (an invalid yaml is
    refused before anything is recorded): see ``install_mode.set_mode``.
    """
    from pumasfs.base.notices import new_notices
    from pumasfs.planning.installs import add_app as register
    from pumasfs.planning.map_selection import select_map
    from pumasfs.planning.map_store import ensure_default_map, known_kinds
    from pumasfs.planning.sandbox import detect_sandbox
    from pumasfs.usecases.install_mode import precheck, set_mode

    layout = ws.writable_layout()
    precheck(kind, path, mode)
    installed = register(layout, kind, path, name=name, version=version, link_type=link_type,
                         known_kinds=known_kinds(layout))
    result = AddedApp(install=installed, map_written=ensure_default_map(layout, installed), map_reason=None,
                      map_error=None, discovered=discover_installs(ws))
    try:
        result.map_reason = select_map(layout, installed).reason
    except PumasError as e:
        result.map_error = e.message
        result.warnings.append(e.message)
    if installed.version is None:
        result.warnings.append(
            f"could not read {installed.name}'s version; maps or overrides with a version range will not "
            f"match it (set it with `pumas app add ... --version V`)")
    # Shown now, then not again at every sync until it changes (app show keeps showing it).
    result.warnings += new_notices(layout, f"sandbox:{installed.name}",
                                   detect_sandbox(installed, library_root=layout.root))
    for line in result.warnings:
        reporter.warn(line)
    if mode != "links":
        result.mode = set_mode(ws, installed.name, mode, reporter=reporter)
    return result


@dataclass
class AppListing:
    apps: list[AppInstall]
    discovered: list[AppInstall]  # registered by this call (found under comfyui-versions/)


def list_apps(ws: Workspace) -> AppListing:
    """Every registered install (after registering new ones under comfyui-versions/)."""
    from pumasfs.planning.installs import load_apps

    ws.require_library()
    discovered = discover_installs(ws)
    return AppListing(apps=list(load_apps(ws.layout).apps), discovered=discovered)


@dataclass
class MapInfo:
    source: str
    reason: str
    app: str
    version_range: str
    variant: str
    install: str | None
    base: str
    rules: int


@dataclass
class AppDetails:
    """Everything `pumas app show` says about one install."""

    install: AppInstall
    discovered_folders: list[str]
    map: MapInfo | None
    map_error: str | None
    base_dir: str | None
    unmapped_folders: list[str] | None
    sandbox_warnings: list[str]

    def to_json(self) -> dict[str, object]:
        from dataclasses import asdict

        data: dict[str, object] = self.install.model_dump(mode="json")
        rest = asdict(self)
        del rest["install"]
        data.update(rest)
        return data


def _unmapped(app: AppInstall, folders: list[str], tmap: TranslationMap) -> list[str]:
    """Discovered folders no rule targets (placeholders aside)."""
    base = app.base_dir(tmap.base)
    targets = {r.target for r in tmap.rules}
    return [f for f in folders if Path(os.path.relpath(app.models_path / f, base)).as_posix() not in targets]


def show_app(ws: Workspace, name: str) -> AppDetails:
    """One install: version, folders found, the map in use and why, sandbox warnings."""
    from pumasfs.planning.installs import get_app
    from pumasfs.planning.map_selection import plan_root, select_map
    from pumasfs.planning.model_folders import discover_model_folders
    from pumasfs.planning.sandbox import detect_sandbox

    ws.require_library()
    discover_installs(ws)
    layout = ws.layout
    install = get_app(layout, name)
    folders = discover_model_folders(install)
    details = AppDetails(install=install, discovered_folders=folders, map=None, map_error=None, base_dir=None,
                         unmapped_folders=None, sandbox_warnings=detect_sandbox(install, library_root=layout.root))
    try:
        selected = select_map(layout, install)
    except PumasError as e:
        details.map_error = e.message
        return details
    m = selected.map
    details.map = MapInfo(source=selected.source, reason=selected.reason, app=m.app, version_range=m.version_range,
                          variant=m.variant, install=m.install, base=m.base, rules=len(m.rules))
    details.base_dir = str(plan_root(install, m))
    details.unmapped_folders = _unmapped(install, folders, m)
    return details


@dataclass
class RemovedApp:
    install: AppInstall
    report: SyncReport  # the links removed (or that would be)
    forgotten: bool  # the record is gone (False on a dry run, or when some links could not be removed)
    mode_steps: list[str] = field(default_factory=list)  # yaml section removed, view unmounted, tree folder gone


def remove_app(ws: Workspace, name: str, *, dry_run: bool = False, reporter: Reporter = NULL_REPORTER) -> RemovedApp:
    """Remove every link pumas made in an install, then its record; the library is untouched.

    When some links cannot be removed the install stays registered and this
    raises (after reporting each one), so that a later run can finish.
    """
    from materializer.api import uninstall
    from pumasfs.planning.installs import get_app, remove_app_record
    from pumasfs.usecases.install_mode import forget_tree, leave_mode

    layout = ws.writable_layout()
    install = get_app(layout, name)
    left = leave_mode(ws, name, dry_run=dry_run)  # our yaml section and the view go first (issue 18)
    report = uninstall(layout, install, dry_run=dry_run)
    for c in report.conflicts:
        reporter.warn(f"left untouched: {c.path} ({c.reason})")
    for line in report.warnings + report.errors:
        reporter.warn(line)
    if dry_run:
        return RemovedApp(install=install, report=report, forgotten=False, mode_steps=left.steps)
    if report.errors:
        raise PumasError(f"{name} is still registered: some links could not be removed (see above)")
    remove_app_record(layout, name)
    steps = left.steps + forget_tree(ws, install).steps
    return RemovedApp(install=install, report=report, forgotten=True, mode_steps=steps)
