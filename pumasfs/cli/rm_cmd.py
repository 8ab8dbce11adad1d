"""`pumas rm`: models out of every app and into the library's trash."""

from __future__ import annotations

import sys

import click

from pumasfs.cli.output import CliReporter, echo_json, printable, warn
from pumasfs.cli.state import State, pass_state
from pumasfs.usecases.remove import remove_models


@click.command("rm")
@click.argument("models", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (it is only asked on a terminal).")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed (and what failed) as JSON.")
@pass_state
def rm(state: State, models: tuple[str, ...], yes: bool, dry_run: bool, as_json: bool) -> None:
    """Remove models: their links in every app, then the model into the trash.

    Nothing is deleted yet: `pumas trash restore ID` brings a model back with
    its links; items older than the keep setting (30 days unless `pumas trash
    keep` says otherwise) are deleted by later removals, or now by `pumas trash
    empty`.  If one model cannot be removed, the others still are (exit 5).

    \b
    Examples:
      pumas rm dreamshaper-8
      pumas rm --dry-run diffusion/sd1/dreamshaper-8 loras/sdxl/detail-tweaker
      pumas rm --yes $(pumas list --family sd1 --json | jq -r '.[].model_id')
    """
    if not dry_run and not yes and sys.stdin.isatty():
        preview = remove_models(state, list(models), dry_run=True)
        for f in preview.failed:
            warn(f"{f.ref}: {f.message}")
        if not preview.removed:
            raise SystemExit(preview.exit_code)
        for r in preview.removed:
            click.echo(f"{printable(r.model_id)} ({r.links} link(s) in apps)")
        if not click.confirm(f"Move {len(preview.removed)} model(s) to the trash?", default=False):
            click.echo("nothing removed")
            return
    with CliReporter(bar=False, warnings=not as_json) as reporter:
        result = remove_models(state, list(models), dry_run=dry_run, reporter=reporter)
    if as_json:
        echo_json({
            "removed": [r.__dict__ for r in result.removed],
            "failed": [f.__dict__ for f in result.failed],
            "warnings": result.warnings,
            "emptied": result.emptied,
            "dry_run": dry_run,
        })
    else:
        for r in result.removed:
            links = f" and {r.links} link(s)" if r.links else ""
            if dry_run:
                click.echo(f"would remove {printable(r.model_id)} ({r.links} link(s))")
            else:
                click.echo(f"removed {printable(r.model_id)}{links} (trash item {r.trash_id})")
        for f in result.failed:
            click.echo(f"pumas: {printable(f.ref)}: {printable(f.message)}", err=True)
        for w in result.warnings:
            warn(w)
        if result.emptied:
            click.echo(f"deleted {len(result.emptied)} old trash item(s) for good")
    if result.exit_code:
        raise SystemExit(result.exit_code)
