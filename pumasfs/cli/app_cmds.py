"""`pumas app ...`: register, list, inspect and remove app installs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ..apps import (
    INSTALL_MODES,
    LINK_TYPES,
    AppInstall,
    add_app,
    autodiscover_comfyui,
    detect_sandbox,
    discover_model_folders,
    get_app,
    load_apps,
    remove_app_record,
)
from ..errors import PumasError
from ..paths import Layout
from .output import echo_json, print_table, warn
from .state import State, check_root, pass_state


def _layout(state: State) -> Layout:
    check_root(state.layout.root)
    return state.layout.ensure()


def _autodiscover(layout: Layout, *, quiet: bool = False) -> list[AppInstall]:
    from ..maps import ensure_default_map

    added = autodiscover_comfyui(layout)
    for app in added:
        ensure_default_map(layout, app)
        if not quiet:
            click.echo(f"found {app.label()} in {app.path}", err=True)
    return added


def _unmapped(app: AppInstall, folders: list[str], tmap: Any) -> list[str]:
    """Discovered folders no rule targets (placeholders aside)."""
    base = app.base_dir(tmap.base)
    targets = {r.target for r in tmap.rules}
    out = []
    for f in folders:
        rel = Path(os.path.relpath(app.models_path / f, base)).as_posix()
        if rel not in targets:
            out.append(f)
    return out


# Folders the default ComfyUI map leaves alone on purpose.
_WHY_NO_RULE = {
    "clip": "legacy twin of text_encoders: models go into one of the pair, so ComfyUI never lists them twice",
    "unet": "legacy twin of diffusion_models: models go into one of the pair",
    "configs": "configs travel beside their checkpoints",
}


@click.group("app")
def app() -> None:
    """Register the app installs pumas feeds (ComfyUI, A1111/Forge, LM Studio, ...).

    \b
    Examples:
      pumas app add comfyui ~/ComfyUI
      pumas app add comfyui ~/ComfyUI-test --name comfy-test --link-type hardlink
      pumas app add lmstudio ~/.lmstudio
      pumas app list
      pumas app show comfyui
      pumas app remove comfy-test --dry-run
    """


@app.command("add")
@click.argument("kind")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Install name (default: the kind, then KIND-2, KIND-3...).")
@click.option("--version", "version", help="App version, when it cannot be read from the install.")
@click.option(
    "--link-type", type=click.Choice(LINK_TYPES), default="auto", show_default=True,
    help="How files appear in the app: auto picks per filesystem.",
)
@click.option(
    "--mode", "mode", type=click.Choice(INSTALL_MODES), default="links", show_default=True,
    help="links: into models/ on `pumas materialize`; yaml: a tree under the library root named by "
    "extra_model_paths.yaml, built now; view: a FUSE content view on that tree (see `pumas app set --help`).",
)
@pass_state
def add(state: State, kind: str, path: Path, name: str | None, version: str | None, link_type: str,
        mode: str = "links") -> None:
    """Register an app install found at PATH (its folder holding models/).

    KIND is comfyui, or any kind that has a translation map (built in:
    a1111, forge, lmstudio; or one you put in the maps folder). The
    version is read from the install when --version is not given
    (ComfyUI: comfyui_version.py, else pyproject.toml). Nothing is created
    in the app folder; the first install of a kind also writes the kind's
    default map, which you may edit.

    \b
    Examples:
      pumas app add comfyui ~/ComfyUI
      pumas app add forge ~/stable-diffusion-webui-forge --version 2.0
      pumas app add comfyui ~/ComfyUI --mode yaml    # write nothing into models/
    """
    from ..maps import ensure_default_map, known_kinds, select_map

    layout = _layout(state)
    if mode != "links":
        from ..usecases.install_mode import precheck

        precheck(kind, path, mode)  # an invalid yaml is refused before the install is recorded
    installed = add_app(layout, kind, path, name=name, version=version, link_type=link_type,
                        known_kinds=known_kinds(layout))
    written = ensure_default_map(layout, installed)
    _autodiscover(layout)
    click.echo(f"registered {installed.label()} at {installed.path}")
    if written:
        click.echo(f"wrote the default {installed.kind} map: {written}")
    try:
        selected = select_map(layout, installed)
        click.echo(f"map: {selected.reason}")
    except PumasError as e:
        warn(e.message)
    if installed.version is None:
        warn(f"could not read {installed.name}'s version; maps or overrides with a version range will not "
             f"match it (set it with `pumas app add ... --version V`)")
    if mode != "links":
        from ..usecases.install_mode import set_mode
        from .app_mode_cmds import print_mode_result

        print_mode_result(set_mode(state, installed.name, mode), as_json=False)
        return
    for line in detect_sandbox(installed, library_root=layout.root):
        warn(line)
    click.echo(f"next: pumas materialize {installed.name}   (or preview: pumas mount {installed.name} DIR)")


@app.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the installs as a JSON array.")
@pass_state
def list_(state: State, as_json: bool) -> None:
    """List registered app installs (ComfyUI installs under comfyui-versions/ are added automatically).

    \b
    Examples:
      pumas app list
      pumas app list --json | jq '.[].name'
    """
    layout = _layout(state)
    _autodiscover(layout, quiet=as_json)
    apps = load_apps(layout).apps
    if as_json:
        echo_json([a.model_dump(mode="json") for a in apps])
        return
    if not apps:
        click.echo("no app installs yet: try `pumas app add comfyui ~/ComfyUI`")
        return
    print_table(
        [(a.name, a.kind, a.version or "-", a.link_type, str(a.path)) for a in apps],
        ["NAME", "KIND", "VERSION", "LINKS", "PATH"],
    )


def _show_data(layout: Layout, install: AppInstall) -> dict[str, Any]:
    from ..maps import plan_root, select_map

    folders = discover_model_folders(install)
    data: dict[str, Any] = install.model_dump(mode="json")
    data["discovered_folders"] = folders
    try:
        selected = select_map(layout, install)
    except PumasError as e:
        data.update(map=None, map_error=e.message, base_dir=None, unmapped_folders=None)
    else:
        data["map"] = {
            "source": selected.source,
            "reason": selected.reason,
            "app": selected.map.app,
            "version_range": selected.map.version_range,
            "variant": selected.map.variant,
            "install": selected.map.install,
            "base": selected.map.base,
            "rules": len(selected.map.rules),
        }
        data["map_error"] = None
        data["base_dir"] = str(plan_root(install, selected.map))
        data["unmapped_folders"] = _unmapped(install, folders, selected.map)
    data["sandbox_warnings"] = detect_sandbox(install, library_root=layout.root)
    data["mode_details"] = _mode_details(install)
    return data


def _mode_details(install: AppInstall) -> dict[str, Any]:
    """Where a yaml/view install's tree is, and whether its yaml still points there (issue 18)."""
    from .. import extra_paths
    from ..usecases.install_mode import yaml_file_of

    out: dict[str, Any] = {"mode": install.mode, "tree_dir": str(install.tree_dir) if install.tree_dir else None,
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
            out["yaml_section"] = "missing"
        elif install.tree_dir is not None and section.base_path == str(install.tree_dir):
            out["yaml_section"] = "points at the tree"
        else:
            out["yaml_section"] = f"points at {section.base_path} (run `pumas doctor --fix`)"
    return out


@app.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON object.")
@pass_state
def show(state: State, name: str, as_json: bool) -> None:
    """Show one install: version, folders found, the map in use and why, sandbox warnings.

    \b
    Examples:
      pumas app show comfyui
      pumas app show comfyui --json | jq .map.reason
    """
    layout = _layout(state)
    _autodiscover(layout, quiet=True)
    data = _show_data(layout, get_app(layout, name))
    if as_json:
        echo_json(data)
        return
    click.echo(f"name:       {data['name']}")
    click.echo(f"kind:       {data['kind']}")
    click.echo(f"version:    {data['version'] or 'unknown'}")
    click.echo(f"path:       {data['path']}")
    click.echo(f"models dir: {data['models_dir']}")
    click.echo(f"link type:  {data['link_type']}")
    md = data["mode_details"]
    click.echo(f"mode:       {md['mode']}" + {"links": " (links in the models dir)",
                                              "yaml": " (links in a tree named by extra_model_paths.yaml)",
                                              "view": " (a FUSE content view named by extra_model_paths.yaml)"}
               .get(md["mode"], ""))
    if md["tree_dir"]:
        click.echo(f"tree:       {md['tree_dir']}")
    if md["yaml_file"]:
        click.echo(f"yaml:       {md['yaml_file']}: pumas section {md['yaml_section']}")
    if data["map"]:
        m = data["map"]
        click.echo(f"map:        {m['source']} ({m['rules']} rules; paths relative to {data['base_dir']})")
        click.echo(f"  why:      {m['reason']}")
    else:
        click.echo(f"map:        none usable: {data['map_error']}")
    folders = data["discovered_folders"]
    click.echo(f"folders:    {len(folders)} found under models/: {', '.join(folders) or '-'}")
    if data.get("unmapped_folders"):
        why = _WHY_NO_RULE if data["kind"] == "comfyui" else {}
        notes = [f"{f} ({why[f]})" if f in why else f for f in data["unmapped_folders"]]
        click.echo(f"  no rule:  {', '.join(notes)}")
    for line in data["sandbox_warnings"]:
        warn(line)


@app.command("remove")
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="Show which links would be removed; change nothing.")
@pass_state
def remove(state: State, name: str, dry_run: bool) -> None:
    """Remove an install cleanly: every link pumas made in it, then its record.

    Only links the registry records and that still point where pumas made
    them are removed; your own files, and links you changed, stay. The
    library is untouched. Map files you wrote stay in the maps folder.

    \b
    Examples:
      pumas app remove comfy-test --dry-run
      pumas app remove comfy-test
    """
    layout = _layout(state)
    install = get_app(layout, name)
    from ..usecases.install_mode import forget_tree, leave_mode

    for step in leave_mode(state, name, dry_run=dry_run).steps:  # our yaml section and view first (issue 18)
        click.echo(step)
    try:
        from materializer.api import uninstall
    except ImportError as e:
        # INTEGRATION: materializer.api.uninstall(layout, app, dry_run=False) does the clean uninstall.
        raise PumasError(f"cannot remove {name}: the link materializer is not available ({e})") from None
    report = uninstall(layout, install, dry_run=dry_run)
    summary = getattr(report, "summary", None)
    if callable(summary):
        click.echo(summary())
    for c in getattr(report, "conflicts", []) or []:
        warn(f"left untouched: {getattr(c, 'path', c)} ({getattr(c, 'reason', '')})")
    for line in getattr(report, "errors", []) or []:
        warn(line)
    if dry_run:
        click.echo(f"would forget {install.label()} (dry run: nothing changed)")
        return
    if getattr(report, "errors", None):
        raise PumasError(f"{name} is still registered: some links could not be removed (see above)")
    remove_app_record(layout, name)
    forget_tree(state, install)
    click.echo(f"removed {install.label()}; the library is untouched")


from .app_mode_cmds import set_  # noqa: E402 -- `pumas app set` lives in its own file (issue 18)

app.add_command(set_)
