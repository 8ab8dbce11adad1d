"""`pumas import`: bring model files into the library."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pumasfs.cli.complete import complete_families, complete_subtypes
from pumasfs.cli.output import CliReporter, echo_json, printable, size_text
from pumasfs.cli.state import State, pass_state
from pumasfs.store.metadata import ModelMetadata

if TYPE_CHECKING:
    from pumasfs.importing.importer import ImportResult


def _kind(meta: ModelMetadata) -> str:
    return "/".join(x for x in (meta.model_type, meta.subtype or "-", meta.family) if x)


def _line(result: ImportResult, base: str = "") -> str:
    meta = result.meta
    if result.status == "imported" and meta is not None:
        return f"imported  {result.model_id}  ({_kind(meta)}, {size_text(meta.size_bytes)})"
    if result.status == "duplicate":
        return f"duplicate {result.source}: {result.message}"
    if result.status == "dry-run":
        return _dry_run_line(result, base)
    return f"failed    {result.source}: {result.message}"


def _shown(source: str, base: str) -> str:
    """A source as short as it stays clear: relative to the folder all sources share."""
    rel = os.path.relpath(source, base) if base else source
    return rel if not rel.startswith("..") else source


def _common_base(results: list[ImportResult]) -> str:
    sources = [os.path.abspath(r.source) for r in results]
    if not sources:
        return ""
    common = os.path.commonpath(sources) if len(sources) > 1 else sources[0]
    return os.path.dirname(common)


def _dry_run_line(result: ImportResult, base: str = "") -> str:
    """One short line per model (the evidence is in --json), warnings indented below."""
    meta, ident = result.meta, result.identification
    if meta is None or result.refused:
        return f"dry-run  {_shown(result.source, base)}: {result.message}"
    facts = [meta.subtype or meta.model_type, size_text(meta.size_bytes)]  # type and family are in the id
    if meta.precision:
        facts.append(meta.precision)
    if ident is not None:
        facts.append(f"conf {ident.confidence:.2f}")
    if meta.unsafe_format:
        facts.append("unsafe format")
    line = f"dry-run  {_shown(result.source, base)} -> {meta.model_id}  ({', '.join(facts)})"
    dup = re.search(r"probably already in the library as (\S+?):", result.message)
    if dup:
        line += "  (probably there already)" if dup[1] == meta.model_id else f"  (probably a copy of {dup[1]})"
    warnings = ident.warnings if ident is not None else []
    return "\n".join([line, *(f"         warning: {w}" for w in warnings)])


def _dry_run_summary(results: list[ImportResult]) -> str:
    would = [r for r in results if r.status == "dry-run" and not r.refused and r.meta is not None]
    size = sum(r.meta.size_bytes for r in would if r.meta is not None)
    refused = sum(1 for r in results if r.refused)
    failed = sum(1 for r in results if r.status == "failed")
    dups = sum(1 for r in would if "probably already in the library" in r.message)
    parts = [f"{len(would)} model(s) would be imported ({size_text(size)})"]
    if dups:
        parts.append(f"{dups} probably already there")
    if refused:
        parts.append(f"{refused} refused")
    if failed:
        parts.append(f"{failed} failed")
    return "dry run: " + ", ".join(parts) + "; nothing was changed"


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--move", is_flag=True, help="Move instead of copy (a rename on the same filesystem; across "
              "filesystems: copy, verify, then delete the source).")
@click.option("--name", "name", metavar="NAME", help="The model's name (one model only). Default: the file or folder name.")
@click.option("--type", "model_type", metavar="TYPE", help="Set model_type (diffusion, llm, audio, vision, upscaler).")
@click.option("--family", metavar="FAMILY", shell_complete=complete_families,
              help="Set the family (sd1, sdxl, flux, llama, ...).")
@click.option("--subtype", metavar="SUBTYPE", shell_complete=complete_subtypes,
              help="Set the subtype, i.e. the app folder key (checkpoints, loras, vae, ...).")
@click.option("--allow-duplicate", is_flag=True, help="Import even when the same bytes are already in the library.")
@click.option("--allow-unsafe", is_flag=True, help="Import pickles that reference code beyond tensor rebuilding.")
@click.option("--dry-run", is_flag=True, help="Show how each model would be identified and named; import nothing.")
@click.option("--no-lookup", "lookup", flag_value=False, default=True,
              help="Skip the hub lookup after importing (`pumas enrich` does it later).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as a JSON array.")
@pass_state
def import_(state: State, paths: tuple[Path, ...], move: bool, name: str | None, model_type: str | None,
            family: str | None, subtype: str | None, allow_duplicate: bool, allow_unsafe: bool, dry_run: bool,
            lookup: bool, as_json: bool) -> None:
    """Import model files or folders into the library.

    Files are copied (or moved with --move) into the library, hashed on the
    way (SHA256 and BLAKE3 from one read), and identified from their own
    headers. A folder holding one model (Diffusers, transformers, PEFT, a
    sharded set) is imported whole; a folder of unrelated files imports each
    model on its own. Companion files with the same name (.yaml, previews,
    .json, .civitai.info) come along. Bytes already in the library are not
    imported twice.

    \b
    Examples:
      pumas import ~/Downloads/juggernautXL_v9.safetensors
      pumas import ~/Downloads/*.safetensors --subtype loras
      pumas import ~/hf/stable-diffusion-xl-base-1.0          # a Diffusers folder
      pumas import big.gguf --move --name "Llama 3.1 8B Q4"
      pumas import ~/Downloads --dry-run                       # what would happen
      pumas import model.ckpt --json | jq '.[].model_id'

    After the copy, each model is looked up on the Hugging Face hub for at
    most a few seconds (offline is fine: it stays pending for `pumas enrich`),
    then every registered app is synced for the new models only.

    Exit codes: 0 all imported (or already there), 1 all failed, 5 some failed.
    """
    from pumasfs.importing.importer import ImportOptions
    from pumasfs.usecases.imports import import_models

    options = ImportOptions(
        move=move, name=name, model_type=model_type, family=family, subtype=subtype,
        allow_duplicate=allow_duplicate, allow_unsafe=allow_unsafe, dry_run=dry_run,
    )
    with CliReporter(bar=not (as_json or dry_run)) as reporter:
        report = import_models(state, list(paths), options, lookup=lookup, reporter=reporter)
    results = report.results

    if as_json:
        echo_json([r.to_json() for r in results])
    elif not (len(results) == 1 and results[0].status == "failed"):  # a lone failure is the error line
        base = _common_base(results)
        for r in results:
            click.echo("\n".join(map(printable, _line(r, base).splitlines())), err=r.status == "failed")
        if dry_run:
            click.echo(_dry_run_summary(results))

    summary = report.lookup
    if summary is not None:
        if summary.pending and summary.status != "offline" and not as_json:
            click.echo(f"hub lookup pending for {len(summary.pending)} model(s) ({summary.reason or summary.status}); "
                       "`pumas enrich` finishes it later", err=True)
        for old, new in summary.renamed.items():
            click.echo(f"renamed   {old} -> {new} (type from the hub)", err=True)
    error = report.error()
    if error is not None:
        raise error
