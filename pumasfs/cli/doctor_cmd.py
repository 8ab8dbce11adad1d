"""`pumas doctor`: one health report over the library, its index and every app's links."""

from __future__ import annotations

import click

from pumasfs.base.errors import EXIT_ERROR
from pumasfs.cli.output import CliReporter, echo_json, print_table
from pumasfs.cli.state import State, pass_state
from pumasfs.usecases import sync as uc


@click.command("doctor")
@click.option("--fix", is_flag=True, help="Make the safe repairs: sweep leftovers, rebuild the index, "
              "move misidentified models, drop registry rows of vanished links. Never touches a user's file.")
@click.option("--verify", is_flag=True, help="Also re-read every library file and name those whose SHA256 "
              "no longer matches the import (slow: reads every byte).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@pass_state
def doctor(state: State, fix: bool, verify: bool, as_json: bool) -> None:
    """Check the library, its index and every app's links; optionally repair.

    \b
    Looks for:
      stale staging      leftovers of killed imports (swept by --fix)
      index drift        models.db vs the metadata.json files (rebuilt by --fix)
      misidentified      models whose stored type/family disagrees with their header
      changed files      weight files whose size changed since import, or that are writable
      hash mismatch      (--verify) files whose bytes no longer match their SHA256
      broken links       links whose library file is gone
      orphaned links     links into the library that the registry does not know
      changed links      registry rows whose link vanished or was changed by someone else
      missing apps       registered apps whose folder is gone
      yaml / view mode   extra_model_paths.yaml no longer naming the tree (a user
                         edited it), an incomplete tree, an unmounted view (--fix
                         restores pumas's section only, rebuilds, remounts)
    Exit code 0 when healthy (or everything found was fixed), 1 otherwise.
    """
    with CliReporter(bar=verify and not as_json, warnings=not as_json) as reporter:
        report = uc.doctor(state, fix=fix, verify=verify, reporter=reporter)
    findings = report.findings
    if state.layout.apps_file.exists():
        from pumasfs.cli.adopt_cmds import adoption_findings, note_unmanaged

        findings = findings + adoption_findings(state, fix)  # adoptions a killed run left half done
        note_unmanaged(state)
    if as_json:
        echo_json([f.model_dump(include={"kind", "path", "detail", "fixable", "fixed"}) for f in findings])
    elif not findings:
        click.echo("healthy: no problems found")
    else:
        print_table(
            [(f.kind, f.path, f.detail, "fixed" if f.fixed else ("fixable" if f.fixable else "-")) for f in findings],
            ["PROBLEM", "WHERE", "DETAIL", "STATE"],
        )
        if not fix and any(f.fixable for f in findings):
            click.echo("run `pumas doctor --fix` to repair what is safe to repair")
    if not report.healthy:
        raise SystemExit(EXIT_ERROR)
