"""`pumas link`, `pumas outdated`, `pumas config`: the CivitAI side of the library."""

from __future__ import annotations

import click

from pumasfs.cli.output import CliReporter, echo_json, print_table, size_text
from pumasfs.cli.state import State, pass_state
from pumasfs.usecases import civitai as uc

NSFW_HELP = "Preview images allowed: safe (default), soft, mature, x, all (CivitAI's NSFW levels)."


@click.command("link")
@click.argument("model")
@click.argument("ref", metavar="civitai:VERSION_ID")
@click.option("--nsfw", type=click.Choice(["safe", "soft", "mature", "x", "all"]), help=NSFW_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--dry-run", is_flag=True, help="Fetch the version and say what would change; change nothing.")
@pass_state
def link(state: State, model: str, ref: str, nsfw: str | None, as_json: bool, dry_run: bool) -> None:
    """Say which CivitAI version a model is, for files CivitAI does not know by hash.

    REF is civitai:VERSION_ID, a civitai.com model or version URL, or an AIR
    (urn:air:sdxl:lora:civitai:MODEL@VERSION).  The version's names, trigger
    words, tags and base model are applied (fields you edited are kept), a
    preview and a .civitai.info are saved beside the model, and its trust
    reads "linked by user": hash lookups never undo it; only another
    `pumas link` changes it.

    \b
    Examples:
      pumas link my-pruned-lora civitai:130072
      pumas link juggernaut-xl 'https://civitai.com/models/133005?modelVersionId=357609'
      pumas link detail-tweaker urn:air:sdxl:lora:civitai:122359@135867
    """
    with CliReporter(bar=False, warnings=not as_json) as reporter:
        out = uc.link_model(state, model, ref, nsfw=nsfw, dry_run=dry_run, reporter=reporter).outcome
    if as_json:
        echo_json({**out.__dict__, "dry_run": dry_run})
        return
    verb = "would link" if dry_run else "linked"
    click.echo(f"{verb} {out.model_id} to CivitAI {out.name or '?'} (version {out.version_id}, base {out.base_model or '?'})")
    for name in out.sidecars:
        click.echo(f"  wrote {name}")


@click.command("outdated")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@pass_state
def outdated(state: State, as_json: bool) -> None:
    """List models with a newer version upstream.

    CivitAI models whose CivitAI model has a newer version, and Hugging Face
    models whose repo now holds a newer revision of the file; each with the
    new file's size, its page and what to pass to `pumas download`.

    \b
    Examples:
      pumas outdated
      pumas outdated --json | jq -r '.items[].download'
    """
    with CliReporter(bar=False, warnings=not as_json) as reporter:
        report = uc.outdated(state, reporter=reporter)
    if as_json:
        echo_json(report.to_json())
        return
    if not report.items:
        click.echo(f"everything is up to date ({report.checked} model(s) checked)")
        return
    rows = [(i.model_id, i.source, f"{i.current} -> {i.latest}", size_text(i.size_bytes), i.url) for i in report.items]
    print_table(rows, ["MODEL", "SOURCE", "VERSION", "SIZE", "PAGE"])


@click.group("config")
def config() -> None:
    """Read or change pumas settings (stored in launcher-data/config/civitai.json).

    \b
    Settings:
      civitai.api_token     token for gated CivitAI downloads (CIVITAI_API_TOKEN wins); never printed
      civitai.preview_nsfw  safe (default), soft, mature, x or all: which preview images are saved
      civitai.previews      true/false: save a preview image beside each matched model

    \b
    Examples:
      pumas config get
      pumas config set civitai.preview_nsfw soft
      pumas config set civitai.api_token "$TOKEN"
    """


@config.command("get")
@click.argument("key", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@pass_state
def config_get(state: State, key: str | None, as_json: bool) -> None:
    """Print one setting's value, or every setting."""
    values = uc.get_config(state, key)
    if as_json:
        echo_json([v.__dict__ for v in values])
    elif key is not None:
        click.echo(values[0].value)
    else:
        print_table([(v.key, v.value, v.source) for v in values], ["SETTING", "VALUE", "FROM"])


@config.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--dry-run", is_flag=True, help="Check the value; write nothing.")
@pass_state
def config_set(state: State, key: str, value: str, dry_run: bool) -> None:
    """Change one setting."""
    v = uc.set_config(state, key, value, dry_run=dry_run)
    click.echo(f"{'would set' if dry_run else 'set'} {v.key} = {v.value}")


def download_civitai(state: State, ref: str, file: str | None, as_json: bool, dry_run: bool) -> None:
    """`pumas download civitai:...` (called from the download command)."""
    with CliReporter(bar=not as_json, warnings=not as_json) as reporter:
        result = uc.download(state, ref, file=file, dry_run=dry_run, reporter=reporter).result
    if as_json:
        echo_json(result.to_json())
        return
    if dry_run:
        what = {"library": "already in the library", "resume": f"resume from {size_text(result.resumed_from)}"}
        click.echo(f"civitai:{result.version_id} {result.name}: {result.file_name} ({size_text(result.size_bytes)}), "
                   f"{what.get(result.action, 'download')}")
        return
    if result.status == "present":
        click.echo(f"already in the library: {', '.join(result.model_ids)} (marked as {result.name} on CivitAI)")
        return
    click.echo(f"downloaded {size_text(result.bytes_downloaded)} from CivitAI ({result.name}, {result.file_name})")
    for mid in result.model_ids:
        click.echo(f"imported {mid} (SHA256 verified against CivitAI)")
