"""Switching an install between links, yaml and view modes, and keeping it healthy.

The order of steps is what keeps a switch safe and resumable:

1. read and validate ``extra_model_paths.yaml`` first: an invalid file stops
   the switch before anything changed;
2. leaving yaml/view for links: remove our section first, so ComfyUI never
   points at a tree that is being taken down;
3. unmount the old view, then uninstall whatever the registry holds for the
   install (links in ``models/`` or in the tree: the materializer's own clean
   uninstall, which never touches a file it did not make);
4. record the new mode (only now: a record saying ``yaml`` while links still
   sat in ``models/`` would strand them);
5. build the new one (links in ``models/``, links in the tree, or a view
   mounted on it) and, for yaml/view, write our section last.

A run killed anywhere is finished by running the same ``pumas app set`` again,
or by ``pumas doctor --fix``: every step is idempotent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pumasfs.base import locks
from pumasfs.base.errors import PumasError
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.base.testhooks import kill_point
from pumasfs.planning import extra_paths
from pumasfs.planning.install_mode import YAML_KINDS, comfyui_yaml_folders, plan_folders, section_note, tree_dir
from pumasfs.planning.installs import INSTALL_MODES, AppInstall, ExtraPathsRecord, get_app, update_app
from pumasfs.store.health import Finding
from pumasfs.usecases.workspace import Workspace


@dataclass
class ModeResult:
    """What a switch did (or would do, with ``dry_run``)."""

    app: str
    old_mode: str
    mode: str
    dry_run: bool = False
    tree_dir: str | None = None
    yaml_file: str | None = None
    yaml_changed: bool = False  # our section was written or removed
    yaml_created: bool = False
    yaml_deleted: bool = False
    links_removed: int = 0  # by the uninstall of the old mode
    report: Any = None  # the materializer's SyncReport of the build (links, yaml)
    mounted: str | None = None  # the view's mountpoint (view)
    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "report"}
        d["report"] = self.report.to_dict() if self.report is not None else None
        return d


def _say(result: ModeResult, step: str) -> None:
    """A step, said the same way whether done or planned (the printed header says which)."""
    result.steps.append(step)


def yaml_file_of(install: AppInstall) -> Path:
    """The yaml ComfyUI reads: ``extra_model_paths.yaml`` beside its main.py (main.apply_custom_paths)."""
    if install.extra_paths is not None:
        return install.extra_paths.file
    return install.path / extra_paths.FILE_NAME


def yaml_folders(ws: Workspace, install: AppInstall) -> dict[str, list[str]]:
    """ComfyUI key -> tree folders: the install's map's targets, and the folders its tree holds."""
    return folders_for(ws.layout, install)


def folders_for(layout: Any, install: AppInstall) -> dict[str, list[str]]:
    """The tree's top folders stand for the plan's (the tree *is* the plan, built); cheap: one scandir.

    Reading the tree rather than planning again keeps this cheap enough to
    run after every full sync, and gives doctor and sync the same answer.
    """
    from pumasfs.planning.map_selection import select_map

    tmap = select_map(layout, install).map
    on_disk: list[str] = []
    if install.tree_dir is not None:
        try:
            with os.scandir(install.tree_dir) as it:
                on_disk = [f"{e.name}/" for e in it if e.is_dir() and not e.name.startswith(".")]
        except OSError:
            pass
    return comfyui_yaml_folders(plan_folders((r.target for r in tmap.rules), on_disk))


def refresh_section(layout: Any, install: AppInstall) -> str | None:
    """After a full sync of a yaml/view install: name any new tree folder in our section.

    A full sync follows a change of the map or the install (a rule for a new
    custom-node folder): the tree gains a folder the yaml must name.  Our
    section only is rewritten, and only when it differs; a yaml that cannot be
    edited is a warning here (the sync itself succeeded), for doctor to report.
    """
    if install.mode == "links" or install.tree_dir is None:
        return None
    try:
        path = yaml_file_of(install)
        with locks.exclusive(layout.run_dir / "extra-paths.lock"):
            edit = extra_paths.write_section(path, install.tree_dir, folders_for(layout, install),
                                             note=section_note(install.name))
        if edit.changed and install.extra_paths is None:
            update_app(layout, install.name, extra_paths=ExtraPathsRecord(file=path, created=edit.created,
                                                                          joiner=edit.joiner))
    except PumasError as e:
        return f"{install.name}: its extra_model_paths.yaml was not updated: {e.message}"
    return None


def _lock(ws: Workspace) -> Any:
    return locks.exclusive(ws.layout.run_dir / "extra-paths.lock")


def _validate_yaml(install: AppInstall) -> None:
    path = extra_paths.real_path(yaml_file_of(install))
    text, _ = extra_paths.read(path)
    if text is not None:
        data = extra_paths.parse(text, path)
        extra_paths.our_section(data, path)


def _drop_section(ws: Workspace, install: AppInstall, result: ModeResult, dry_run: bool) -> AppInstall:
    rec = install.extra_paths
    path = yaml_file_of(install)
    with _lock(ws):
        edit = extra_paths.drop_section(path, created=bool(rec and rec.created), joiner=rec.joiner if rec else "",
                                        dry_run=dry_run)
    result.yaml_file = str(edit.path)
    result.yaml_changed, result.yaml_deleted = edit.changed, edit.deleted
    if edit.changed:
        _say(result, f"{'delete' if edit.deleted else 'remove our section from'} {edit.path}")
    if not dry_run and rec is not None:
        install = update_app(ws.layout, install.name, extra_paths=None)
    return install


def _write_section(ws: Workspace, install: AppInstall, result: ModeResult, dry_run: bool) -> AppInstall:
    assert install.tree_dir is not None
    folders = yaml_folders(ws, install)
    path = yaml_file_of(install)
    with _lock(ws):
        edit = extra_paths.write_section(path, install.tree_dir, folders, note=section_note(install.name),
                                         dry_run=dry_run)
    result.yaml_file = str(edit.path)
    result.yaml_changed, result.yaml_created = edit.changed, edit.created
    if edit.changed:
        _say(result, f"{'create' if edit.created else 'write our section in'} {edit.path} "
                            f"({len(folders)} folder keys -> {install.tree_dir})")
    if not dry_run and (edit.changed or install.extra_paths is None):
        old = install.extra_paths
        if old is not None and old.file == path and not edit.created and not edit.joiner:
            rec = old  # replaced in place: what we created or added first still stands
        else:
            rec = ExtraPathsRecord(file=path, created=edit.created, joiner=edit.joiner)
        install = update_app(ws.layout, install.name, extra_paths=rec)
    return install


def _view_state(ws: Workspace, mountpoint: Path) -> str:
    from pumasfs.view import mounts

    mp = str(mountpoint)
    mounted = mounts.view_mounts()
    return mounts.state_of(mp, mounts.read_record(mounts.record_path(ws.layout, mp)), mounted)


def _unmount(ws: Workspace, install: AppInstall, result: ModeResult, dry_run: bool) -> None:
    if install.tree_dir is None:
        return
    if _view_state(ws, install.tree_dir) == "unmounted":
        return
    _say(result, f"unmount the view at {install.tree_dir}")
    if not dry_run:
        from pumasfs.view.daemon import umount

        umount(ws.layout, install.tree_dir)


def _mount(ws: Workspace, install: AppInstall, result: ModeResult) -> None:
    from pumasfs.view.daemon import mount
    from pumasfs.view.source import AppPlanSource

    assert install.tree_dir is not None
    if _view_state(ws, install.tree_dir) == "active":
        result.mounted = str(install.tree_dir)
        return
    if not os.path.exists("/dev/fuse"):
        raise PumasError("FUSE is not available here (/dev/fuse is missing); view mode needs it, use yaml mode")
    ws.library.index  # noqa: B018 -- models.db must exist before the daemon opens its own connection
    ws.close()  # no SQLite handle may cross the daemon's fork
    rec = mount(ws.layout, AppPlanSource(ws.layout, install.name), install.tree_dir, content=True)
    result.mounted = rec.mountpoint if rec is not None else str(install.tree_dir)
    _say(result, f"mount a content view at {result.mounted}")


def _uninstall(ws: Workspace, install: AppInstall, result: ModeResult, dry_run: bool) -> None:
    from materializer.api import uninstall

    report = uninstall(ws.layout, install, dry_run=dry_run)
    result.links_removed = len(report.removed)
    result.warnings += report.warnings
    if report.removed:
        where = report.base_dir or "the install"
        _say(result, f"remove {len(report.removed)} link(s) pumas made in {where}")
    if report.errors:
        result.warnings += report.errors
        raise PumasError(f"{install.name}: some links could not be removed, so the mode stays "
                         f"{install.mode} (see the warnings; retry when fixed)")


def _remove_tree_dir(tree: Path | None, result: ModeResult, dry_run: bool) -> None:
    """The tree folder is ours; it goes when empty (never when something else was put there)."""
    if tree is None or not tree.is_dir() or dry_run:
        return
    try:
        tree.rmdir()
        _say(result, f"remove the empty tree folder {tree}")
    except OSError:
        result.warnings.append(f"{tree}: kept (not empty: something else was put there)")


def _build(ws: Workspace, install: AppInstall, result: ModeResult, dry_run: bool, *, verify: bool = False,
           allow_conflicts: bool = False) -> None:
    from materializer.api import locked_registry
    from materializer.sync import full_sync

    with locked_registry(ws.layout) as reg:
        report = full_sync(reg, ws.layout, ws.library, install, dry_run=dry_run, verify=verify or None,
                           allow_conflicts=allow_conflicts)
    result.report = report
    if report.created or report.retargeted or report.removed:
        _say(result, f"link the plan into {report.base_dir}: {report.summary()}")


def precheck(kind: str, path: Path, mode: str) -> None:
    """Before `app add --mode`: refuse a kind without the yaml, or an invalid yaml, before anything is recorded."""
    if mode == "links":
        return
    if kind.strip().lower() not in YAML_KINDS:
        raise PumasError(f"{mode} mode works through ComfyUI's extra_model_paths.yaml: only comfyui installs have it")
    target = extra_paths.real_path(Path(os.path.abspath(path.expanduser())) / extra_paths.FILE_NAME)
    text, _ = extra_paths.read(target)
    if text is not None:
        extra_paths.our_section(extra_paths.parse(text, target), target)


def set_mode(ws: Workspace, name: str, mode: str, *, dry_run: bool = False, mount_view: bool = True,
             allow_conflicts: bool = False, verify: bool = False, reporter: Reporter = NULL_REPORTER
             ) -> ModeResult:
    """Put install ``name`` in ``mode``: undo the old one cleanly, build the new one (idempotent)."""
    if mode not in INSTALL_MODES:
        raise PumasError(f"mode must be one of {', '.join(INSTALL_MODES)}, not {mode!r}")
    layout = ws.writable_layout()
    install = get_app(layout, name)
    if mode != "links" and install.kind not in YAML_KINDS:
        raise PumasError(f"{name} is a {install.kind} install: {mode} mode works through ComfyUI's "
                         "extra_model_paths.yaml, so only ComfyUI installs have it (use links, or `pumas mount`)")
    old = install.mode
    result = ModeResult(app=name, old_mode=old, mode=mode, dry_run=dry_run)
    reporter.start(f"{name}: {old} -> {mode}", None, unit="steps")
    if mode != "links" or install.extra_paths is not None or old != "links":
        _validate_yaml(install)  # refuse an invalid yaml before anything changed
    tree = tree_dir(layout, name)

    if mode == "links":
        if install.extra_paths is not None or old != "links":
            install = _drop_section(ws, install, result, dry_run)
            kill_point("section-dropped")
        if old != "links":
            _unmount(ws, install, result, dry_run)
            _uninstall(ws, install, result, dry_run)
            kill_point("old-uninstalled")
            if not dry_run:
                old_tree = install.tree_dir
                install = update_app(layout, name, mode="links", tree_dir=None)
                _remove_tree_dir(old_tree, result, dry_run)
            else:
                install = install.model_copy(update={"mode": "links", "tree_dir": None})
            _build(ws, install, result, dry_run, allow_conflicts=allow_conflicts)
        return result

    # yaml or view
    moved = install.tree_dir is not None and install.tree_dir != tree
    if old != mode or moved:
        if old == "view" or moved:
            _unmount(ws, install, result, dry_run)
        if old != "view":
            _uninstall(ws, install, result, dry_run)
            kill_point("old-uninstalled")
        if moved and install.tree_dir is not None:
            _remove_tree_dir(install.tree_dir, result, dry_run)
    result.tree_dir = str(tree)
    if dry_run:
        install = install.model_copy(update={"mode": mode, "tree_dir": tree})
    else:
        if install.mode != mode or install.tree_dir != tree:
            install = update_app(layout, name, mode=mode, tree_dir=tree)
            kill_point("mode-recorded")
        tree.mkdir(parents=True, exist_ok=True)
    if mode == "yaml":
        if dry_run and not tree.is_dir():
            _say(result, f"create the tree {tree} and link the plan into it")
        else:
            _build(ws, install, result, dry_run, verify=verify, allow_conflicts=allow_conflicts)
    elif mount_view and not dry_run:
        _mount(ws, install, result)
    elif dry_run:
        _say(result, f"mount a content view at {tree}")
    kill_point("tree-built")
    install = _write_section(ws, install, result, dry_run)
    reporter.advance()
    return result


_MODE_WHAT = {
    "links": "links in the models dir",
    "yaml": "links in a tree named by extra_model_paths.yaml",
    "view": "a FUSE content view named by extra_model_paths.yaml",
}


def mode_details(install: AppInstall) -> dict[str, Any]:
    """For `app show`: the mode, where the tree is, and whether the yaml still points at it."""
    out: dict[str, Any] = {"mode": install.mode, "what": _MODE_WHAT.get(install.mode, ""),
                           "tree_dir": str(install.tree_dir) if install.tree_dir else None,
                           "yaml_file": None, "yaml_section": None}
    if install.mode == "links" and install.extra_paths is None:
        return out
    path = yaml_file_of(install)
    out["yaml_file"] = str(path)
    try:
        section = extra_paths.check_file(path)
    except PumasError as e:
        out["yaml_section"] = f"unreadable: {e.message}"
    else:
        if section is None:
            out["yaml_section"] = "missing (run `pumas doctor --fix`)"
        elif install.tree_dir is not None and section.base_path == str(install.tree_dir):
            out["yaml_section"] = "points at the tree"
        else:
            out["yaml_section"] = f"points at {section.base_path} (run `pumas doctor --fix`)"
    return out


def leave_mode(ws: Workspace, name: str, *, dry_run: bool = False) -> ModeResult:
    """Before ``app remove``: our yaml section and the view go; the uninstall removes the tree's links."""
    install = get_app(ws.layout, name)
    result = ModeResult(app=name, old_mode=install.mode, mode="removed", dry_run=dry_run)
    if install.extra_paths is not None or install.mode != "links":
        _validate_yaml(install)
        _drop_section(ws, install, result, dry_run)
        _unmount(ws, install, result, dry_run)
    return result


def forget_tree(ws: Workspace, install: AppInstall, *, dry_run: bool = False) -> ModeResult:
    """After ``app remove``'s uninstall: the empty tree folder goes too."""
    result = ModeResult(app=install.name, old_mode=install.mode, mode="removed", dry_run=dry_run)
    _remove_tree_dir(install.tree_dir, result, dry_run)
    return result


# -- health --------------------------------------------------------------------------


def _tree_missing_entries(ws: Workspace, install: AppInstall) -> tuple[int, int]:
    """How many of the plan's entries the tree lacks, and the plan's size."""
    from pumasfs.planning.map_selection import select_map
    from pumasfs.planning.planner import build_plan

    assert install.tree_dir is not None
    tmap = select_map(ws.layout, install).map
    plan = build_plan(list(ws.library.index.records()), tmap, install, full=True)
    base = str(install.tree_dir)
    missing = sum(1 for p in plan.entries if not os.path.exists(f"{base}/{p}"))
    return missing, len(plan.entries)


def check_install(ws: Workspace, install: AppInstall) -> list[Finding]:
    """What is wrong with a yaml/view install: its yaml section, its tree, its view."""
    out: list[Finding] = []
    if install.mode == "links":
        if install.extra_paths is not None:
            out.append(Finding(kind="yaml-leftover", path=str(install.extra_paths.file), fixable=True,
                               detail=f"{install.name} uses links, but its yaml still has pumas's section"))
        return out
    name = install.name
    expected_tree = tree_dir(ws.layout, name)
    if install.tree_dir != expected_tree:
        out.append(Finding(kind="tree-moved", path=str(install.tree_dir), fixable=True,
                           detail=f"{name}: its tree should be {expected_tree} (the library root moved?)"))
        return out
    path = extra_paths.real_path(yaml_file_of(install))
    try:
        section = extra_paths.check_file(path)
    except extra_paths.ExtraPathsError as e:
        out.append(Finding(kind="yaml-invalid", path=str(path), detail=e.message))
        section = None
    else:
        want = extra_paths.expected_value(expected_tree, yaml_folders(ws, install))
        if section is None:
            out.append(Finding(kind="yaml-section-missing", path=str(path), fixable=True,
                               detail=f"{name} is in {install.mode} mode but ComfyUI's yaml has no "
                               f"{extra_paths.SECTION_KEY!r} section: ComfyUI sees none of the library"))
        else:
            got = {k: v for k, v in section.model_dump().items() if k != "is_default"}
            if got != want:
                keys = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
                out.append(Finding(kind="yaml-section-changed", path=str(path), fixable=True,
                                   detail=f"{name}: pumas's section no longer points where it should "
                                   f"(differs in: {', '.join(keys)})"))
    if not expected_tree.is_dir():
        out.append(Finding(kind="tree-missing", path=str(expected_tree), fixable=True,
                           detail=f"{name}: its tree folder is gone"))
        return out
    if install.mode == "view":
        state = _view_state(ws, expected_tree)
        if state != "active":
            out.append(Finding(kind="view-not-mounted", path=str(expected_tree), fixable=True,
                               detail=f"{name}: its content view is {state}; ComfyUI sees an empty tree"))
        return out
    missing, total = _tree_missing_entries(ws, install)
    if missing:
        out.append(Finding(kind="tree-incomplete", path=str(expected_tree), fixable=True,
                           detail=f"{name}: {missing} of the plan's {total} entries are missing from its tree"))
    return out


def check_installs(ws: Workspace, *, fix: bool = False) -> list[Finding]:
    """`pumas doctor`: every yaml/view install (and links installs with a leftover section); --fix repairs."""
    from pumasfs.planning.installs import load_apps

    if not ws.layout.apps_file.exists():
        return []
    try:
        installs = load_apps(ws.layout).apps
    except PumasError:
        return []  # the links doctor reports the broken apps file; one finding is enough
    findings: list[Finding] = []
    for install in installs:
        try:
            found = check_install(ws, install)
        except PumasError as e:
            findings.append(Finding(kind="install-mode", path=install.name, detail=e.message))
            continue
        fixable = [f for f in found if f.fixable]
        if fix and fixable:
            try:
                set_mode(ws, install.name, install.mode,
                         verify=any(f.kind == "tree-incomplete" for f in found))
            except PumasError as e:
                for f in fixable:
                    f.detail += f" (not fixed: {e.message})"
            else:
                after = {(f.kind, f.path) for f in check_install(ws, get_app(ws.layout, install.name))}
                for f in fixable:
                    f.fixed = (f.kind, f.path) not in after
        findings += found
    return findings
