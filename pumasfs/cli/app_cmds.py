"""`pumas app ...`: register, list, inspect and remove app installs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from pumasfs.cli.app_mode_cmds import print_mode_result, set_
from pumasfs.cli.complete import complete_apps, complete_kinds
from pumasfs.cli.main import FullHelpGroup
from pumasfs.cli.output import CliReporter, echo_json, print_table, warn
from pumasfs.cli.state import State, pass_state
from pumasfs.planning.installs import INSTALL_MODES
from pumasfs.planning.link_types import LINK_TYPES
from pumasfs.usecases import apps as uc
from pumasfs.usecases.install_mode import mode_details

if TYPE_CHECKING:
    from pumasfs.planning.installs import AppInstall


def _say_discovered(found: list[AppInstall]) -> None:
    for app in found:
        click.echo(f"found {app.label()} in {app.path}", err=True)


@click.group("app", cls=FullHelpGroup)
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
@click.argument("kind", shell_complete=complete_kinds)
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
    with CliReporter(bar=False, warnings=False) as reporter:
        added = uc.add_app(state, kind, path, name=name, version=version, link_type=link_type, mode=mode,
                           reporter=reporter)
    installed = added.install
    _say_discovered(added.discovered)
    click.echo(f"registered {installed.label()} at {installed.path}")
    if added.map_written:
        click.echo(f"wrote the default {installed.kind} map: {added.map_written}")
    if added.map_reason:
        click.echo(f"map: {added.map_reason}")
    if added.mode is not None:
        print_mode_result(added.mode, as_json=False)
        return
    for line in added.warnings:
        warn(line)
    click.echo(f"next: pumas materialize {installed.name}   (or preview: pumas mount {installed.name} DIR)")


@app.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the installs as a JSON array.")
@pass_state
def list_(state: State, as_json: bool) -> None:
    """List registered app installs (ComfyUI installs under comfyui-versions/ are added automatically).

    MODE is how each install is shown the library: links (in its models
    folder), yaml (a tree named by extra_model_paths.yaml) or view (FUSE).

    \b
    Examples:
      pumas app list
      pumas app list --json | jq '.[].name'
    """
    listing = uc.list_apps(state)
    if not as_json:
        _say_discovered(listing.discovered)
    apps = listing.apps
    if as_json:
        echo_json([a.model_dump(mode="json") for a in apps])
        return
    if not apps:
        click.echo("no app installs yet: try `pumas app add comfyui ~/ComfyUI`")
        return
    print_table(
        [(a.name, a.kind, a.version or "-", a.mode, a.link_type, str(a.path)) for a in apps],
        ["NAME", "KIND", "VERSION", "MODE", "LINK TYPE", "PATH"],
    )


@app.command("show")
@click.argument("name", shell_complete=complete_apps)
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON object.")
@pass_state
def show(state: State, name: str, as_json: bool) -> None:
    """Show one install: version, folders found, the map in use and why, sandbox warnings.

    \b
    Examples:
      pumas app show comfyui
      pumas app show comfyui --json | jq .map.reason
    """
    details = uc.show_app(state, name)
    mode = mode_details(details.install)
    if as_json:
        echo_json({**details.to_json(), "mode_details": mode})
        return
    install = details.install
    click.echo(f"name:       {install.name}")
    click.echo(f"kind:       {install.kind}")
    click.echo(f"version:    {install.version or 'unknown'}")
    click.echo(f"path:       {install.path}")
    click.echo(f"models dir: {install.models_dir}")
    click.echo(f"link type:  {install.link_type}")
    click.echo(f"mode:       {mode['mode']} ({mode['what']})")
    if mode["tree_dir"]:
        click.echo(f"tree:       {mode['tree_dir']}")
    if mode["yaml_file"]:
        click.echo(f"yaml:       {mode['yaml_file']}: pumas section {mode['yaml_section']}")
    if details.map:
        m = details.map
        click.echo(f"map:        {m.source} ({m.rules} rules; paths relative to {details.base_dir})")
        click.echo(f"  why:      {m.reason}")
    else:
        click.echo(f"map:        none usable: {details.map_error}")
    folders = details.discovered_folders
    click.echo(f"folders:    {len(folders)} found under models/: {', '.join(folders) or '-'}")
    if details.unmapped_folders:
        why = uc.WHY_NO_RULE if install.kind == "comfyui" else {}
        notes = [f"{f} ({why[f]})" if f in why else f for f in details.unmapped_folders]
        click.echo(f"  no rule:  {', '.join(notes)}")
    for line in details.sandbox_warnings:
        warn(line)


@app.command("remove")
@click.argument("name", shell_complete=complete_apps)
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
    with CliReporter(bar=False) as reporter:
        removed = uc.remove_app(state, name, dry_run=dry_run, reporter=reporter)
    for step in removed.mode_steps:
        click.echo(step)
    click.echo(removed.report.summary())
    if dry_run:
        click.echo(f"would forget {removed.install.label()} (dry run: nothing changed)")
        return
    click.echo(f"removed {removed.install.label()}; the library is untouched")


app.add_command(set_)  # `pumas app set NAME --mode ...` lives in its own file (issue 18)
