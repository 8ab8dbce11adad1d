"""`pumas materialize`, `pumas sync`, `pumas relocate`: links in app folders."""

from __future__ import annotations

from pathlib import Path

import click

from materializer.report import SyncReport
from pumasfs.cli.complete import complete_app_selectors
from pumasfs.cli.output import echo_json, printable, warn
from pumasfs.cli.state import State, pass_state
from pumasfs.planning.link_types import LINK_TYPES
from pumasfs.usecases import sync as uc


def _print_report(report: SyncReport, *, verbose: bool) -> None:
    click.echo(report.summary())
    if verbose:
        for label, paths in (("create", report.created), ("retarget", report.retargeted),
                             ("remove", report.removed), ("adopt", report.adopted), ("forget", report.forgotten)):
            for p in paths:
                click.echo(f"  {label:8} {printable(p)}")
        for d in report.folders_created:
            click.echo(f"  mkdir    {printable(d)}/")
    for c in report.conflicts:
        click.echo(f"  conflict {printable(c.path)}: {printable(c.detail)}")
    for w in report.warnings:
        warn(w)
    for e in report.errors:
        warn(e)


def _finish(reports: list[SyncReport], as_json: bool, dry_run: bool) -> None:
    if as_json:
        echo_json([r.to_dict() for r in reports])
    else:
        for r in reports:
            _print_report(r, verbose=dry_run)
    error = uc.outcome_error(reports, dry_run=dry_run)
    if error is not None:
        raise error


@click.command("materialize")
@click.argument("app", shell_complete=complete_app_selectors)
@click.option("--dry-run", "-n", is_flag=True, help="Print the plan (what would be created, retargeted, removed) "
              "and change nothing.")
@click.option("--link-type", type=click.Choice(LINK_TYPES), default=None,
              help="Set the install's link type; later syncs keep it (default: the install's setting, normally "
              "auto: relative symlinks on one filesystem, hardlinks on NTFS, absolute symlinks across drives).")
@click.option("--skip-conflicts", is_flag=True, help="Apply everything except the conflicting paths "
              "(default: with any conflict, apply nothing).")
@click.option("--json", "as_json", is_flag=True, help="Print the report(s) as JSON.")
@pass_state
def materialize(state: State, app: str, dry_run: bool, link_type: str | None, skip_conflicts: bool,
                as_json: bool) -> None:
    """Link the whole library into an app install (full sync).

    APP is an install name or a kind (then every install of that kind).
    Only links pumas made (recorded in registry.db and still exactly as
    written) are ever replaced or removed; anything else at a wanted path is
    a conflict, reported with exit code 3.

    \b
    Examples:
      pumas materialize comfyui --dry-run
      pumas materialize comfyui
      pumas materialize comfyui-0.3 --link-type absolute-symlink --json
    """
    reports = uc.materialize(state, app, dry_run=dry_run, link_type=link_type, skip_conflicts=skip_conflicts)
    _finish(reports, as_json, dry_run)


@click.command("sync")
@click.argument("app", required=False, shell_complete=complete_app_selectors)
@click.option("--dry-run", "-n", is_flag=True, help="Print what would change and change nothing.")
@click.option("--skip-conflicts", is_flag=True, help="Apply everything except the conflicting paths.")
@click.option("--json", "as_json", is_flag=True, help="Print the report(s) as JSON.")
@pass_state
def sync(state: State, app: str | None, dry_run: bool, skip_conflicts: bool, as_json: bool) -> None:
    """Bring app folders up to date with the library (only what changed).

    Without APP: every install that was materialized before.  With APP (an
    install name or a kind): those installs, fully materialized if they
    never were.  After an interrupted run, the next sync checks every link
    it owns and repairs the registry and the folder.

    \b
    Examples:
      pumas sync
      pumas sync comfyui --dry-run
    """
    reports = uc.sync_apps(state, app, dry_run=dry_run, skip_conflicts=skip_conflicts)
    from pumasfs.cli.adopt_cmds import note_unmanaged

    # An install caught up incrementally is not walked: a sync with nothing to do must cost
    # nothing at 100,000 links (bench_scale); `pumas doctor` and full syncs still name the files.
    note_unmanaged(state, app, skip=frozenset(r.app for r in reports if r.mode == "incremental"))
    if not reports and not as_json:
        click.echo("nothing to sync: no app has links yet (run `pumas materialize APP`)")
        return
    _finish(reports, as_json, dry_run)


@click.command("relocate")
@click.argument("old", type=click.Path(file_okay=False, path_type=Path))
@click.argument("new", type=click.Path(file_okay=False, path_type=Path))
@click.option("--dry-run", "-n", is_flag=True, help="Print what would be rewritten and change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_state
def relocate(state: State, old: Path, new: Path, dry_run: bool, as_json: bool) -> None:
    """A drive moved from mount point OLD to NEW: rewrite links and recorded paths.

    Absolute links (made across drives) pointing under OLD are rewritten to
    NEW, atomically and only where the disk still holds what pumas wrote;
    app folders and the library path recorded under OLD move to NEW.
    Moving the library and its apps together needs nothing: links between
    them are relative.

    \b
    Example:
      pumas relocate /media/me/OldName /media/me/NewName
    """
    report = uc.relocate(state, old, new, dry_run=dry_run)
    if as_json:
        echo_json(report.to_dict())
    else:
        verb = "would rewrite" if dry_run else "rewrote"
        click.echo(f"{verb} {len(report.retargeted)} link(s) ({report.base_dir})")
        for p in report.retargeted if dry_run else []:
            click.echo(f"  {p}")
        for w in report.warnings + report.errors:
            warn(w)
    error = uc.outcome_error([report], dry_run=dry_run)
    if error is not None:
        raise error
