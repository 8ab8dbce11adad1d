"""`pumas app set NAME --mode links|yaml|view`: how an install is shown the library."""

from __future__ import annotations

import click

from pumasfs.base.errors import EXIT_CONFLICT, EXIT_PARTIAL, PumasError
from pumasfs.cli.output import echo_json, warn
from pumasfs.cli.state import State, pass_state
from pumasfs.planning.installs import INSTALL_MODES
from pumasfs.usecases.install_mode import ModeResult, set_mode


def print_mode_result(result: ModeResult, *, as_json: bool) -> None:
    """Print a switch and turn a blocked or partial build into the usual exit codes."""
    if as_json:
        echo_json(result.to_dict())
    else:
        verb = "would switch" if result.dry_run else "switched"
        if result.old_mode == result.mode:
            verb = "would repair" if result.dry_run else "checked"
        click.echo(f"{verb} {result.app}: {result.old_mode} -> {result.mode}"
                   + (" (dry run: nothing changed; steps it would take:)" if result.dry_run
                      else ", steps taken:" if result.steps else ", nothing to do"))
        for step in result.steps:
            click.echo(f"  {step}")
        if result.tree_dir:
            click.echo(f"  tree: {result.tree_dir}")
        report = result.report
        if report is not None:
            for c in report.conflicts:
                click.echo(f"  conflict {c.path}: {c.detail}")
        for w in dict.fromkeys(result.warnings + (list(report.warnings) + list(report.errors) if report else [])):
            warn(w)
    report = result.report
    if report is not None and report.conflicts and not report.applied and not result.dry_run:
        raise PumasError(f"conflicts in {result.app}: its links were not built (pumas never replaces what it did not "
                         f"make; move those files away, then `pumas sync {result.app}`)", exit_code=EXIT_CONFLICT)
    if report is not None and report.errors:
        raise SystemExit(EXIT_PARTIAL)


@click.command("set")
@click.argument("name")
@click.option("--mode", "mode", type=click.Choice(INSTALL_MODES), required=True,
              help="links: links in the app's models folder; yaml: links in a tree under the library root, named "
              "by the app's extra_model_paths.yaml; view: a FUSE content view mounted on that tree.")
@click.option("--dry-run", "-n", is_flag=True, help="Say what would change; change nothing.")
@click.option("--skip-conflicts", is_flag=True, help="Build everything except conflicting paths.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_state
def set_(state: State, name: str, mode: str, dry_run: bool, skip_conflicts: bool, as_json: bool) -> None:
    """Choose how install NAME sees the library; the old way is undone cleanly.

    \b
    links  links in NAME's own models/ folder (the default).
    yaml   nothing is written into NAME but one section of its
           extra_model_paths.yaml: the links go to a tree under the
           library root (launcher-data/trees/NAME/), kept in sync like
           models/ would be. Your own sections, comments and blank
           lines stay byte for byte; a file that is not valid YAML is
           refused and left alone.
    view   the same, with a FUSE content view mounted on the tree
           (for Docker/Flatpak ComfyUI that cannot follow links out).

    Switching back to links removes only pumas's section (and the file,
    if pumas created it and nothing else is left). Running it again with
    the same mode repairs the install (so does `pumas doctor --fix`).

    \b
    Examples:
      pumas app set comfyui --mode yaml --dry-run
      pumas app set comfyui --mode yaml
      pumas app set comfyui --mode links
    """
    result = set_mode(state, name, mode, dry_run=dry_run, allow_conflicts=skip_conflicts)
    print_mode_result(result, as_json=as_json)
