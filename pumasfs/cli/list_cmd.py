"""`pumas list`: the library's models as a table, or as JSON for scripts.

Alone in its module: `pumas list` is the command people run most, and it loads only what
a listing needs (see tests/listperf/test_startup_imports.py).
"""

from __future__ import annotations

import click

from pumasfs.cli.complete import complete_families, complete_subtypes, complete_types
from pumasfs.cli.output import echo_json, print_table, size_text
from pumasfs.cli.state import State, pass_state
from pumasfs.usecases import listing as uc


@click.command("list")
@click.option("--type", "model_type", shell_complete=complete_types,
              help="Only this model_type (diffusion, llm, ...); any case.")
@click.option("--subtype", shell_complete=complete_subtypes, help="Only this subtype (checkpoints, loras, vae, ...).")
@click.option("--family", shell_complete=complete_families, help="Only this family (sd1, sdxl, flux, llama, ...).")
@click.option("--search", "-s", metavar="TEXT", help="Models whose names, file names, tags, notes or trigger words "
              "contain every word of TEXT (anywhere, any case).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Show at most N models (a page).")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Skip the first N models (with --limit: the next page).")
@click.option("--json", "as_json", is_flag=True, help="Print the model records (metadata.json) as a JSON array.")
@pass_state
def list_(state: State, model_type: str | None, subtype: str | None, family: str | None, search: str | None,
          limit: int | None, offset: int, as_json: bool) -> None:
    """List the models in the library.

    \b
    Examples:
      pumas list
      pumas list --subtype loras --family sdxl
      pumas list --search "juggernaut"
      pumas list --limit 50 --offset 50           the second page of 50
      pumas list --json | jq '.[].model_id'
    """
    where = uc.ModelFilter(model_type=model_type, subtype=subtype, family=family, search=search)
    page = (limit, offset) if limit is not None else ((-1, offset) if offset else None)
    listing = uc.list_rows(state, where, full=as_json, page=page)
    if as_json:
        echo_json([r.metadata for r in listing.rows])
        return
    if not listing.rows:
        click.echo("no models" + (" match" if where.active else " yet: try `pumas import FILE`"))
        return
    headers = ["MODEL", "SUBTYPE", "PRECISION", "SIZE", "TRUST"]
    civitai = any(r.civitai or r.trigger_words for r in listing.rows)
    if civitai:  # CivitAI columns only when some model has CivitAI data (issue 12)
        headers += ["CIVITAI", "BASE MODEL", "TRIGGER WORDS"]
    rows: list[tuple[str, ...]] = [
        (r.model_id, r.subtype or "-", r.precision or "-", size_text(r.size_bytes), r.trust,
         *(_civitai_cells(r) if civitai else ()), ", ".join(r.used_by) or "-")
        for r in listing.rows
    ]
    print_table(rows, [*headers, "USED BY"])
    shown = len(listing.rows)
    if page is not None and shown != listing.matching:
        more = f"; --offset {offset + shown} for more" if offset + shown < listing.matching else ""
        of = f" ({offset + 1}-{offset + shown} of {listing.matching}{more})"
    else:
        of = f" (of {listing.total_models})" if shown != listing.total_models else ""
    used = sum(1 for r in listing.rows if r.used_by)
    click.echo(f"{shown} model(s){of}, {size_text(listing.total_bytes)}; {used} used by an app")


def _civitai_cells(row: uc.ModelRow) -> tuple[str, str, str]:
    words = ", ".join(row.trigger_words)
    return row.civitai or "-", row.civitai_base or "-", (words[:60] + "…" if len(words) > 61 else words) or "-"
