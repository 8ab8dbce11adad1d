"""`pumas import`: bring model files into the library."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..metadata import ModelMetadata
from .complete import complete_families, complete_subtypes
from .output import CliReporter, echo_json, size_text
from .state import State, pass_state

if TYPE_CHECKING:
    from ..importer import ImportResult


def _kind(meta: ModelMetadata) -> str:
    return "/".join(x for x in (meta.model_type, meta.subtype or "-", meta.family) if x)


def _line(result: ImportResult) -> str:
    meta = result.meta
    if result.status == "imported" and meta is not None:
        return f"imported  {result.model_id}  ({_kind(meta)}, {size_text(meta.size_bytes)})"
    if result.status == "duplicate":
        return f"duplicate {result.source}: {result.message}"
    if result.status == "dry-run":
        if meta is None:
            return f"dry-run   {result.source}: {result.message}"
        ident = result.identification
        conf = ident.confidence if ident is not None else None
        extra = [f"{_kind(meta)}", size_text(meta.size_bytes), meta.format or "?"]
        if meta.precision:
            extra.append(meta.precision)
        if conf is not None:
            extra.append(f"confidence {conf:.2f}")
        if meta.unsafe_format:
            extra.append("unsafe format")
        lines = [f"dry-run   {result.source} -> {meta.model_id}  ({', '.join(extra)}): {result.message}"]
        lines += [f"          evidence: {e}" for e in (ident.evidence if ident is not None else [])]
        lines += [f"          warning: {w}" for w in (ident.warnings if ident is not None else [])]
        return "\n".join(lines)
    return f"failed    {result.source}: {result.message}"


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
    from ..importer import ImportOptions
    from ..usecases.imports import import_models

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
        for r in results:
            click.echo(_line(r), err=r.status == "failed")

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
