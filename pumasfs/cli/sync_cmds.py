"""`pumas materialize`, `pumas sync`, `pumas relocate`: links in app folders."""

from __future__ import annotations

import click

from ..errors import EXIT_CONFLICT, EXIT_PARTIAL, PumasError
from .main import State, pass_state
from .output import echo_json, warn

LINK_TYPES = ("auto", "relative-symlink", "absolute-symlink", "hardlink")


def _print_report(report, *, verbose: bool) -> None:
    click.echo(report.summary())
    if verbose:
        for label, paths in (("create", report.created), ("retarget", report.retargeted),
                             ("remove", report.removed), ("adopt", report.adopted), ("forget", report.forgotten)):
            for p in paths:
                click.echo(f"  {label:8} {p}")
        for d in report.folders_created:
            click.echo(f"  mkdir    {d}/")
    for c in report.conflicts:
        click.echo(f"  conflict {c.path}: {c.detail}")
    for w in report.warnings:
        warn(w)
    for e in report.errors:
        warn(e)


def _finish(reports, as_json: bool, dry_run: bool) -> None:
    if as_json:
        echo_json([r.to_dict() for r in reports])
    else:
        for r in reports:
            _print_report(r, verbose=dry_run)
    blocked = [r for r in reports if r.conflicts and not r.applied]
    if blocked and not dry_run:
        names = ", ".join(r.app for r in blocked)
        raise PumasError(
            f"conflicts in {names}: nothing applied there (pumas never replaces what it did not make; move those "
            "files away, or pass --skip-conflicts to apply the rest)",
            exit_code=EXIT_CONFLICT,
        )
    if dry_run and any(r.conflicts for r in reports):
        raise SystemExit(EXIT_CONFLICT)
    if any(r.errors for r in reports):
        raise SystemExit(EXIT_PARTIAL)


@click.command("materialize")
@click.argument("app")
@click.option("--dry-run", "-n", is_flag=True, help="Print the plan (what would be created, retargeted, removed) "
              "and change nothing.")
@click.option("--link-type", type=click.Choice(LINK_TYPES), default=None,
              help="Set the install's link type; later syncs keep it (default: the install's setting, normally "
              "auto: relative symlinks on one filesystem, hardlinks on NTFS, absolute symlinks across drives).")
@click.option("--skip-conflicts", is_flag=True, help="Apply everything except the conflicting paths "
              "(default: with any conflict, apply nothing).")
@click.option("--json", "as_json", is_flag=True, help="Print the report(s) as JSON.")
@pass_state
def materialize(state: State, app, dry_run, link_type, skip_conflicts, as_json):
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
    from materializer.api import materialize as do_materialize

    from ..apps import resolve_apps, update_app

    lib = state.library
    reports = []
    for install in resolve_apps(state.layout, app):
        if link_type and not dry_run and install.link_type != link_type:
            # A one-run override would be undone by the next automatic sync: remember it.
            install = update_app(state.layout, install.name, link_type=link_type)
        reports.append(do_materialize(state.layout, lib, install, dry_run=dry_run, link_type=link_type,
                                      allow_conflicts=skip_conflicts))
    _finish(reports, as_json, dry_run)


@click.command("sync")
@click.argument("app", required=False)
@click.option("--dry-run", "-n", is_flag=True, help="Print what would change and change nothing.")
@click.option("--skip-conflicts", is_flag=True, help="Apply everything except the conflicting paths.")
@click.option("--json", "as_json", is_flag=True, help="Print the report(s) as JSON.")
@pass_state
def sync(state: State, app, dry_run, skip_conflicts, as_json):
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
    from materializer.api import sync_pending

    from ..apps import resolve_apps

    apps = resolve_apps(state.layout, app) if app else None
    reports = sync_pending(state.layout, state.library, apps, dry_run=dry_run, allow_conflicts=skip_conflicts)
    from .adopt_cmds import note_unmanaged

    note_unmanaged(state, [a.name for a in apps] if apps else None)
    if not reports and not as_json:
        click.echo("nothing to sync: no app has links yet (run `pumas materialize APP`)")
        return
    _finish(reports, as_json, dry_run)


@click.command("relocate")
@click.argument("old", type=click.Path(file_okay=False))
@click.argument("new", type=click.Path(file_okay=False))
@click.option("--dry-run", "-n", is_flag=True, help="Print what would be rewritten and change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_state
def relocate(state: State, old, new, dry_run, as_json):
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
    from materializer.api import relocate as do_relocate

    report = do_relocate(state.layout, old, new, dry_run=dry_run)
    if as_json:
        echo_json(report.to_dict())
    else:
        verb = "would rewrite" if dry_run else "rewrote"
        click.echo(f"{verb} {len(report.retargeted)} link(s) ({report.base_dir})")
        for p in report.retargeted if dry_run else []:
            click.echo(f"  {p}")
        for w in report.warnings + report.errors:
            warn(w)
    if report.errors:
        raise SystemExit(EXIT_PARTIAL)
