"""Commands over the library itself: show, edit, scan (list is in list_cmd.py, rm in rm_cmd.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pumasfs.base.errors import EXIT_ERROR, EXIT_PARTIAL, PumasError
from pumasfs.cli.complete import complete_models
from pumasfs.cli.output import CliReporter, echo_json, printable, size_text
from pumasfs.cli.state import State, pass_state
from pumasfs.usecases import library as uc

if TYPE_CHECKING:
    from pumasfs.store.metadata import ModelMetadata


def _badge(meta: ModelMetadata) -> str:
    from pumasfs.hub import trust_badge

    return trust_badge(meta)


@click.command("show")
@click.argument("model", shell_complete=complete_models)
@click.option("--related", is_flag=True, help="Also list the matched hub repo's other files.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@pass_state
def show(state: State, model: str, related: bool, as_json: bool) -> None:
    """Show one model: its metadata, overrides, links and trust.

    MODEL is a model id (diffusion/sd1/dreamshaper-8) or a unique cleaned name.
    """
    with CliReporter(bar=False) as reporter:
        details = uc.show_model(state, model, related=related, reporter=reporter)
    rec, meta, links, rel = details.record, details.meta, details.links, details.related
    if as_json:
        out = meta.model_dump(mode="json")
        out["trust"] = _badge(meta)
        from pumasfs.hub.badge import trust_badges
        from pumasfs.hub.civitai.fields import base_model_disagrees

        out["trust_badges"] = trust_badges(meta)
        out["civitai_base_model_disagrees"] = base_model_disagrees(meta)
        out["overrides"] = rec.overrides.model_dump(mode="json") if rec.overrides else None
        out["overrides_error"] = rec.overrides_error
        out["excluded_from_mappings"] = rec.overrides_error is not None
        out["links"] = links
        if rel is not None:
            out["related"] = [r.model_dump(mode="json") for r in rel]
        echo_json(out)
        return
    fields = [
        ("id", meta.model_id), ("name", meta.official_name), ("type", meta.model_type),
        ("subtype", meta.subtype), ("family", meta.family), ("variant", meta.variant),
        ("precision", meta.precision), ("params", f"{meta.param_count:,}" if meta.param_count else None),
        ("format", meta.format + (" (unsafe: pickle)" if meta.unsafe_format else "") if meta.format else None),
        ("size", size_text(meta.size_bytes)), ("sha256", meta.hashes.sha256), ("blake3", meta.hashes.blake3),
        ("trust", f"{_badge(meta)} ({meta.match_method}, {meta.match_confidence:.2f})" + _civitai_trust(meta)),
        ("hub", f"{meta.hub_repo}@{meta.hub_revision or 'main'}" if meta.hub_repo else None),
        ("tags", ", ".join(meta.tags) or None), ("added", meta.added_date),
        ("user-edited", ", ".join(meta.user_edited) or None),
        ("pending lookup", "yes" if meta.pending_online_lookup else None),
        *_civitai_fields(meta),
    ]
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        if value not in (None, ""):
            click.echo(f"{key:<{width}}  {printable(value)}")
    if rec.overrides_error:
        click.echo(f"{'overrides':<{width}}  INVALID, excluded from every app: {printable(rec.overrides_error)}")
    elif rec.overrides and rec.overrides.version_ranges:
        ranges = ", ".join(f"{k} {v}" for k, v in rec.overrides.version_ranges.items())
        click.echo(f"{'overrides':<{width}}  {ranges}")
    click.echo("files:")
    for f in meta.files:
        click.echo(f"  {printable(f.name)}  {size_text(f.size)}  {printable(f.role)}")
    if meta.pins:
        click.echo("pins:")
        for pin in meta.pins:
            click.echo(f"  {printable(pin.app)}: {printable(pin.path)}")
    if links:
        click.echo("links:")
        for link in links:
            click.echo(printable(f"  {link['app']}: {link['path']} ({link['link_type']})"))
    if rel is not None:
        click.echo("related files on the hub:" if rel else "related files: none found (no matched repo)")
        for r in rel:
            have = "in library" if r.in_library else ""
            click.echo(printable(f"  {r.path}  {size_text(r.size or 0)}  {have}".rstrip()))


def _civitai_trust(meta: ModelMetadata) -> str:
    """The CivitAI badge beside the Hugging Face one (issue 12)."""
    from pumasfs.hub.badge import badge_label, civitai_badge

    badge = civitai_badge(meta)
    return f" + {badge_label(badge)}" if badge else ""


def _civitai_fields(meta: ModelMetadata) -> list[tuple[str, str | None]]:
    """CivitAI's lines for `show` (issue 12): names, page, base model (both when they disagree), words."""
    civ = meta.civitai
    out: list[tuple[str, str | None]] = []
    if civ is not None:  # the CivitAI module (its API models) loads only for a model CivitAI knows
        from pumasfs.hub.civitai.fields import base_model_disagrees

        base = civ.base_model
        if base and base_model_disagrees(meta):
            base = f"{base} on CivitAI, but the header says {meta.family} (placed as {meta.family})"
        out += [
            ("civitai", f"{civ.model_name} / {civ.version_name}" + (f" by {civ.creator}" if civ.creator else "")),
            ("civitai page", civ.url), ("air", civ.air),
            ("civitai type", " / ".join(x for x in (civ.type, civ.file_type) if x) or None),
            ("civitai base", base), ("nsfw level", str(civ.nsfw_level) if civ.nsfw_level is not None else None),
        ]
    out.append(("trigger words", ", ".join(meta.trigger_words) or None))
    if meta.description:
        first = meta.description.strip().splitlines()[0]
        out.append(("description", first[:100] + ("…" if len(first) > 100 else "")))
    return out



@click.command("edit")
@click.argument("model", shell_complete=complete_models)
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", required=True,
              help="Set a field; repeatable. Lists are comma-separated, dicts are JSON.")
@click.option("--force", is_flag=True, help="Accept a model_type, subtype or family pumas does not know.")
@click.option("--json", "as_json", is_flag=True, help="Print the new record as JSON.")
@pass_state
def edit(state: State, model: str, sets: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Edit a model's metadata; edited fields are never overwritten by hub enrichment.

    Changing model_type, family or cleaned_name moves the model folder and
    relinks it in every app. model_type, subtype and family are checked
    against the known values (an unknown one needs --force).

    \b
    Examples:
      pumas edit dreamshaper-8 --set tags=anime,sd1 --set notes="my favourite"
      pumas edit diffusion/unknown/foo --set family=sdxl --set subtype=loras
      pumas edit my-model --set family=my-new-base --force
    """
    changes = uc.parse_sets(sets)
    with CliReporter(bar=False) as reporter:
        result = uc.edit_model(state, model, changes, force=force, reporter=reporter)
    if as_json:
        echo_json(result.meta.model_dump(mode="json"))
    elif result.moved:
        click.echo(f"updated {result.meta.model_id} (was {result.old_id})")
    else:
        click.echo(f"updated {result.meta.model_id}")


@click.command("scan")
@click.option("--json", "as_json", is_flag=True, help="Print the scan report as JSON.")
@pass_state
def scan(state: State, as_json: bool) -> None:
    """Deep scan: rebuild models.db from the metadata.json files alone.

    A broken metadata.json is reported by path and skipped; the rest load.
    Apps catch up on what changed at the next `pumas sync`.
    """
    with CliReporter(bar=not as_json, warnings=False) as reporter:
        report = uc.scan(state, reporter)
    if as_json:
        echo_json(report.__dict__)
    else:
        click.echo(
            f"scanned {report.loaded} model(s): {len(report.added)} added, "
            f"{len(report.changed)} changed, {len(report.removed)} removed from the index"
        )
        for err in report.errors:
            click.echo(f"pumas: warning: {err}", err=True)
    if report.errors:
        raise PumasError(f"{len(report.errors)} metadata file(s) could not be read (see above)",
                         exit_code=EXIT_PARTIAL if report.loaded else EXIT_ERROR)
