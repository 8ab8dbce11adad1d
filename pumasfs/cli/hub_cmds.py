"""`pumas enrich` and `pumas download`: the Hugging Face side of the library."""

from __future__ import annotations

import os
from typing import Any

import click

from pumasfs.base.errors import EXIT_PARTIAL, PumasError
from pumasfs.cli.complete import complete_models
from pumasfs.cli.output import CliReporter, echo_json, print_table, size_text, warn
from pumasfs.cli.state import State, pass_state
from pumasfs.usecases import hub as uc


@click.command("enrich")
@click.argument("models", nargs=-1, shell_complete=complete_models)
@click.option("--all", "all_", is_flag=True, help="Look up every model again (refreshes verified ones too).")
@click.option("--pending", is_flag=True, help="Models imported while the hub was unreachable (the default).")
@click.option("--budget", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Most hub requests this run may make; the rest stay pending.")
@click.option("--json", "as_json", is_flag=True, help="Print what was found as JSON.")
@click.option("--dry-run", is_flag=True, help="Look up, but change nothing.")
@pass_state
def enrich(state: State, models: tuple[str, ...], all_: bool, pending: bool, budget: int, as_json: bool,
           dry_run: bool) -> None:
    """Match models with their Hugging Face repo and fill in their metadata.

    Candidates come from a hub search on the model's name (quantisation,
    precision and version tags stripped); a match is *verified* when the
    file's sha256 equals the repo's LFS sha256, *probable* when only the name
    matches, *modified* when the repo has a file of that name with other
    bytes.  Fields you set with `pumas edit` are never overwritten.

    Without the hub (no network, HF_HUB_OFFLINE=1, rate limits, errors) the
    models stay pending and this exits 0; run it again later.

    \b
    Examples:
      pumas enrich                      every model still pending
      pumas enrich llm/llama/llama-3-2-1b-instruct-q4-k-m
      pumas enrich --all --budget 300   refresh the whole library
      pumas enrich --pending --json
    """
    with CliReporter(bar=False, warnings=not as_json) as reporter:
        report = uc.enrich(state, models, all_models=all_, pending=pending, budget=budget, dry_run=dry_run,
                           reporter=reporter)
    ids, summary = report.ids, report.summary
    if as_json:
        echo_json(summary.to_json())
        return
    if summary.civitai is not None:
        _civitai_rows(summary.civitai, dry_run)
    if not ids:
        if summary.civitai is None or not summary.civitai.looked_up:
            click.echo("nothing to look up" + ("" if models or all_ else " (no model is pending)"))
        return
    rows = [
        (o.model_id, o.badge, o.match_method, f"{o.confidence:.2f}", f"{o.repo}@{(o.revision or '')[:8]}" if o.repo else "-",
         ", ".join(o.changed) or "-")
        for o in summary.looked_up
    ]
    if rows:
        print_table(rows, ["model", "trust", "match", "conf", "repo", "changed" + (" (dry run)" if dry_run else "")])
    if summary.pending:
        warn(f"{len(summary.pending)} model(s) still pending: {summary.reason or 'hub unavailable'}")
    for old, new in summary.renamed.items():
        click.echo(f"{old} -> {new} (type from the hub)")


def _civitai_rows(civ: Any, dry_run: bool) -> None:
    """What CivitAI said (issue 12), after the same models' hub lookups."""
    rows = [(o.model_id, o.status, f"{o.name or '-'} (civitai:{o.version_id})" if o.version_id else "-",
             ", ".join(o.changed) or "-") for o in civ.looked_up]
    if rows:
        print_table(rows, ["model", "civitai", "version", "changed" + (" (dry run)" if dry_run else "")])
    if civ.pending and civ.status != "offline":
        warn(f"{len(civ.pending)} model(s) still pending on CivitAI: {civ.reason or 'CivitAI unavailable'}")


@click.command("download")
@click.argument("repo")
@click.argument("files", nargs=-1)
@click.option("--include", "include", multiple=True, metavar="GLOB",
              help="Files whose path or name matches GLOB (repeatable), e.g. '*Q4_K_M.gguf'.")
@click.option("--revision", "-r", metavar="R", help="Branch, tag or commit (default: main).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--dry-run", is_flag=True, help="Show what would be downloaded; download nothing.")
@pass_state
def download(state: State, repo: str, files: tuple[str, ...], include: tuple[str, ...], revision: str | None,
             as_json: bool, dry_run: bool) -> None:
    """Download a Hugging Face repo (or some of its files), or a CivitAI file, into the library.

    A CivitAI REPO (civitai:VERSION_ID, a civitai.com model or version URL,
    or an AIR) fetches that version's primary file (FILE names another one),
    checked against CivitAI's SHA256; gated files need CIVITAI_API_TOKEN.

    The files land in the library's staging area, each is checked against
    the hub's sha256 before anything is imported, and the result is imported
    as one model (a sharded set or a Diffusers repo is one model), marked
    verified, and linked into your apps.  An interrupted download resumes
    when you run the same command again.  Files the library already holds
    are not downloaded again.  Gated repos need HF_TOKEN.

    \b
    Examples:
      pumas download bartowski/Llama-3.2-1B-Instruct-GGUF Llama-3.2-1B-Instruct-Q4_K_M.gguf
      pumas download bartowski/Llama-3.2-1B-Instruct-GGUF --include '*Q8_0*'
      pumas download stabilityai/sdxl-vae --revision main
      pumas download some/diffusers-repo --dry-run
      pumas download civitai:130072                     a CivitAI version (also a civitai.com URL or an AIR)
    """
    from pumasfs.hub.civitai.refs import looks_like_ref

    if looks_like_ref(repo, os.environ.get("CIVITAI_ENDPOINT", "")):
        from pumasfs.cli.civitai_cmds import (
            download_civitai,  # issue 12: civitai:ID, civitai.com URLs, AIRs
        )

        return download_civitai(state, repo, files[0] if files else None, as_json, dry_run)
    with CliReporter(bar=not as_json, warnings=not as_json) as reporter:
        result = uc.download(state, repo, files, include, revision, dry_run=dry_run, reporter=reporter).result
    if as_json:
        echo_json(result.to_json())
        return
    if dry_run:
        labels = {"download": "download", "resume": "resume", "have": "already fetched", "library": "in library"}
        rows = [(p.path, size_text(p.size), labels.get(p.action, p.action)) for p in result.files]
        print_table(rows, ["file", "size", "action"])
        todo = sum((p.size or 0) - p.resumed_from for p in result.files if p.action in ("download", "resume"))
        click.echo(f"{repo}@{result.revision[:12]}: would download {size_text(todo)}")
        return
    if result.status == "present":
        click.echo(f"already in the library: {', '.join(result.model_ids)} (marked verified from {repo})")
        return
    click.echo(f"downloaded {size_text(result.bytes_downloaded)} from {repo}@{result.revision[:12]}")
    for mid in result.model_ids:
        click.echo(f"imported {mid} (verified)")
    if not result.model_ids:
        raise PumasError("nothing was imported", exit_code=EXIT_PARTIAL)
