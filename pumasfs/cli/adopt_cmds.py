"""`pumas adopt`, `pumas release`, `pumas workflows`: start from the models a user already has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pumasfs.base.errors import EXIT_PARTIAL, PumasError
from pumasfs.cli.output import CliReporter, echo_json, size_text, warn
from pumasfs.cli.state import State, pass_state


def _shown(path: str) -> str:
    return path.encode("utf-8", "backslashreplace").decode()


@click.command("adopt")
@click.argument("apps", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Read and count everything; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--from", "from_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Adopt only this folder (inside the install named by --as).")
@click.option("--as", "as_app", metavar="APP", help="The install --from belongs to.")
@click.option("--no-lookup", "lookup", flag_value=False, default=True,
              help="Skip the hub lookup after adopting (`pumas enrich --pending` does it later).")
@click.option("--undo", is_flag=True, help="The way back: every pinned link in APP becomes a real file again.")
@pass_state
def adopt(state: State, apps: tuple[str, ...], dry_run: bool, as_json: bool, from_dir: Path | None,
          as_app: str | None, undo: bool, lookup: bool) -> None:
    """Bring the models already in your apps' folders into the library, paths unchanged.

    Each model file (with its previews, configs and .civitai.info) moves into
    the library without a byte copied on one filesystem, and a link takes its
    place at exactly the same path, so every app lists the same names and
    every saved workflow still loads.  Files with the same bytes, anywhere,
    become one library model.  With no APP, every registered install.

    \b
    Examples:
      pumas adopt --dry-run                 what would happen, per app and in total
      pumas adopt comfyui a1111
      pumas adopt --from ~/ComfyUI/models/loras --as comfyui
      pumas adopt --no-lookup               no hub lookup now (`pumas enrich --pending` later)
      pumas adopt --undo comfyui            real files again (same as `pumas release comfyui`)
    """
    if undo:
        if len(apps) != 1:
            raise click.UsageError("--undo takes exactly one APP")
        _release(state, apps[0], dry_run, as_json)
        return
    if (from_dir is None) != (as_app is None):
        raise click.UsageError("--from DIR and --as APP go together")
    if as_app is not None and apps:
        raise click.UsageError("give either APP... or --from DIR --as APP")
    from pumasfs.usecases.adopt import adopt as run

    with CliReporter(bar=not as_json, warnings=not as_json) as reporter:
        result = run(state, [as_app] if as_app else list(apps) or None, dry_run=dry_run, from_dir=from_dir,
                     lookup=lookup, reporter=reporter)
    if as_json:
        echo_json(result.to_json())
    else:
        _print(result)
        summary = result.lookup
        if summary is not None:  # the same lines `pumas import` prints after its lookup
            if summary.pending and summary.status != "offline":
                click.echo(f"hub lookup pending for {len(summary.pending)} model(s) "
                           f"({summary.reason or summary.status}); `pumas enrich --pending` finishes it later",
                           err=True)
            for old, new in summary.renamed.items():
                click.echo(f"renamed   {old} -> {new} (type from the hub)", err=True)
    if result.failures:
        raise SystemExit(EXIT_PARTIAL)


def _counts_line(name: str, c: Any) -> str:
    line = (f"{name}: {c.files} file(s), {c.models} model(s), {size_text(c.bytes)}; "
            f"{c.duplicates} duplicate(s), {size_text(c.bytes_freed)} freed")
    if c.already_managed:
        line += f"; {c.already_managed} already managed"
    if c.conflicts:
        line += f"; {c.conflicts} conflict(s)"
    return line


def _print(result: Any) -> None:
    plan = result.plan
    verb = "would adopt" if result.dry_run else "adopted"
    click.echo(verb + ":")
    for app, c in sorted(plan.counts.items()):
        click.echo("  " + _counts_line(app, c))
    click.echo("  " + _counts_line("total", plan.total()))
    click.echo(f"conflicts: {len(result.conflicts)}")
    for line in result.conflicts:
        click.echo(f"  {line}")
    if plan.left:
        click.echo("left alone:")
        for x in plan.left:
            click.echo(f"  {x.app}: {_shown(x.path)} ({x.reason}: {x.detail})")
    for app in sorted(set(result.workflows_before) | set(result.workflows_after)):
        before = result.workflows_before.get(app, [])
        after = result.workflows_after.get(app)
        line = f"workflows ({app}): {len(before)} unresolved reference(s) before"
        if after is not None:
            line += f", {len(after)} after"
        click.echo(line)
        for r in (after if after is not None else before):
            click.echo(f"  {r.workflow}: node {r.node}: {r.key}/{r.name}")
    for note in result.notes:
        click.echo(f"note: {note}")
    for line in result.failures:
        warn(line)


def _release(state: State, app: str, dry_run: bool, as_json: bool) -> None:
    from pumasfs.usecases.release import release as run

    result = run(state, app, dry_run=dry_run)
    if as_json:
        echo_json(result.to_json())
    else:
        verb = "would restore" if dry_run else "restored"
        click.echo(f"{app}: {verb} {len(result.restored)} file(s) "
                   f"({result.moved} moved back, {result.copied} copied)")
        for line in result.notes:
            click.echo(f"note: {line}")
        for line in result.failures:
            warn(line)
    if result.failures:
        raise SystemExit(EXIT_PARTIAL)


@click.command("release")
@click.argument("app")
@click.option("--dry-run", is_flag=True, help="Say what would be restored; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_state
def release(state: State, app: str, dry_run: bool, as_json: bool) -> None:
    """Undo adoption for APP: every pinned link becomes a real file again.

    A model nothing else uses is moved back (no byte copied on one
    filesystem) and leaves the library; one that another install or pin
    uses is copied.  pumas's other links in APP are removed and APP is no
    longer kept in sync.

    \b
    Examples:
      pumas release comfyui --dry-run
      pumas release comfyui
    """
    _release(state, app, dry_run, as_json)


@click.command("workflows")
@click.argument("app")
@click.option("--all", "show_all", is_flag=True, help="List every reference, resolved or not.")
@click.option("--json", "as_json", is_flag=True, help="Print the references as JSON.")
@pass_state
def workflows(state: State, app: str, show_all: bool, as_json: bool) -> None:
    """List the model references in APP's saved ComfyUI workflows that it cannot resolve.

    Reads user/*/workflows/**/*.json (UI and API formats) and checks each
    loader's model name the way ComfyUI does (folders, extra_model_paths.yaml,
    links followed).  Exit code 1 when a reference does not resolve.

    \b
    Examples:
      pumas workflows comfyui
      pumas workflows comfyui --all --json
    """
    from pumasfs.usecases.workflows import check_workflows

    report = check_workflows(state, app)
    refs = report.references if show_all else report.unresolved
    if as_json:
        echo_json({"app": app, "workflows": report.files, "references": len(report.references),
                   "unresolved": [r.to_json() for r in report.unresolved],
                   **({"all": [r.to_json() for r in report.references]} if show_all else {})})
    else:
        click.echo(f"{app}: {report.files} workflow(s), {len(report.references)} model reference(s), "
                   f"{len(report.unresolved)} unresolved")
        for r in refs:
            mark = "" if r in report.unresolved else "ok  "
            click.echo(f"  {mark}{r.workflow}: node {r.node}: {r.key}/{r.name}")
    if report.unresolved:
        raise SystemExit(1)


__all__ = ["PumasError", "adopt", "release", "workflows"]


def note_unmanaged(state: State, selector: str | None = None, *, skip: frozenset[str] = frozenset()) -> None:
    """One line per install holding model files pumas does not manage yet (for sync and doctor).

    ``skip``: installs not to walk (sync passes those it caught up incrementally: walking a
    materialized install costs as much as the install is big, and `pumas doctor` still says it).
    """
    from pumasfs.planning.app_discovery import resolve_apps
    from pumasfs.planning.installs import load_apps

    try:
        names: list[str] | None = [a.name for a in resolve_apps(state.layout, selector)] if selector else None
        if skip:
            names = [n for n in (names if names is not None else [a.name for a in load_apps(state.layout).apps])
                     if n not in skip]
            if not names:
                return
        # Imported only when some install is walked: a sync with nothing to do skips its import time.
        from pumasfs.usecases.adopt import unmanaged

        found = unmanaged(state, names)
    except (PumasError, OSError):
        return
    for u in found:
        click.echo(f"pumas: note: {u.line()}", err=True)


def adoption_findings(state: State, fix: bool) -> list[Any]:
    """Adoptions a killed run left half done (a pinned path still a real file): doctor's findings."""
    from pumasfs.store.health import Finding
    from pumasfs.usecases.adopt import finish_pending

    out: list[Any] = []
    try:
        pending = finish_pending(state, fix=fix)
    except PumasError:
        return out  # an unreadable apps.json: doctor reports it already
    for p in pending:
        detail = {"finished": "a killed `pumas adopt` left it a real file; now linked",
                  "unfinished": "a killed `pumas adopt` left it a real file; --fix links it",
                  "changed": "pinned here, but the file is not the library's bytes; left alone"}[p.state]
        out.append(Finding(kind="unfinished-adoption", path=f"{p.app}: {p.path}", detail=detail,
                           fixable=p.state != "changed", fixed=p.state == "finished"))
    return out
