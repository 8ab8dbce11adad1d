"""`pumas doctor`: one health report over the library, its index and every app's links."""

from __future__ import annotations

import click

from .. import health
from ..errors import EXIT_ERROR
from .main import State, pass_state
from .output import echo_json, print_table


@click.command("doctor")
@click.option("--fix", is_flag=True, help="Make the safe repairs: sweep leftovers, rebuild the index, "
              "move misidentified models, drop registry rows of vanished links. Never touches a user's file.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@pass_state
def doctor(state: State, fix: bool, as_json: bool):
    """Check the library, its index and every app's links; optionally repair.

    \b
    Looks for:
      stale staging      leftovers of killed imports (swept by --fix)
      index drift        models.db vs the metadata.json files (rebuilt by --fix)
      misidentified      models whose stored type/family disagrees with their header
      broken links       links whose library file is gone
      orphaned links     links into the library that the registry does not know
      changed links      registry rows whose link vanished or was changed by someone else
      missing apps       registered apps whose folder is gone
    Exit code 0 when healthy (or everything found was fixed), 1 otherwise.
    """
    lib = state.library
    findings = list(health.check_staging(lib, fix))
    findings += health.check_index(lib, fix)
    findings += health.check_identity(lib, fix)
    if state.layout.registry_db.exists() or state.layout.apps_file.exists():
        from materializer.api import doctor as links_doctor

        findings += links_doctor(state.layout, lib, fix=fix)
        from .adopt_cmds import adoption_findings, note_unmanaged

        findings += adoption_findings(state, fix)
        note_unmanaged(state)
    if fix and any(getattr(f, "fixed", False) for f in findings):
        from . import hooks

        hooks.sync_apps(state, quiet=as_json)
    rows = [_as_dict(f) for f in findings]
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("healthy: no problems found")
    else:
        print_table(
            [(r["kind"], r["path"], r["detail"], "fixed" if r["fixed"] else ("fixable" if r["fixable"] else "-"))
             for r in rows],
            ["PROBLEM", "WHERE", "DETAIL", "STATE"],
        )
        if not fix and any(r["fixable"] for r in rows):
            click.echo("run `pumas doctor --fix` to repair what is safe to repair")
    if any(not r["fixed"] for r in rows):
        raise SystemExit(EXIT_ERROR)


def _as_dict(f) -> dict:
    d = f.model_dump() if hasattr(f, "model_dump") else dict(vars(f))
    return {k: d.get(k) for k in ("kind", "path", "detail", "fixable", "fixed")}
