"""`pumas trash ...`: what `rm` removed, until it is deleted for good."""

from __future__ import annotations

import click

from pumasfs.cli.output import CliReporter, echo_json, print_table, printable, size_text
from pumasfs.cli.state import State, pass_state
from pumasfs.usecases import trash as uc


@click.group("trash")
def trash() -> None:
    """Models removed by `pumas rm`: list, restore or delete them for good.

    \b
    Examples:
      pumas trash list
      pumas trash restore 20261129-143012-a1b2c3
      pumas trash empty --older-than 30d --dry-run
      pumas trash keep 14d
    """


@trash.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the items as a JSON array.")
@pass_state
def list_(state: State, as_json: bool) -> None:
    """List removed models, oldest first."""
    items = uc.list_trash(state)
    if as_json:
        echo_json([i.model_dump(mode="json") for i in items])
        return
    if not items:
        click.echo("the trash is empty")
        return
    print_table([(i.id, i.model_id, i.removed_at, size_text(i.size_bytes)) for i in items],
                ["ID", "MODEL", "REMOVED", "SIZE"])


@trash.command("restore")
@click.argument("item_id")
@click.option("--allow-duplicate", is_flag=True, help="Restore even if the same bytes were imported again since.")
@click.option("--dry-run", is_flag=True, help="Say what would be restored; change nothing.")
@pass_state
def restore(state: State, item_id: str, allow_duplicate: bool, dry_run: bool) -> None:
    """Put a removed model back where it was; its links in apps come back.

    ITEM_ID is shown by `pumas trash list`.
    """
    with CliReporter(bar=False) as reporter:
        result = uc.restore(state, item_id, dry_run=dry_run, allow_duplicate=allow_duplicate, reporter=reporter)
    verb = "would restore" if dry_run else "restored"
    click.echo(f"{verb} {printable(result.model_id)}")


@trash.command("empty")
@click.option("--older-than", metavar="AGE", help="Only items removed longer ago than AGE (30d, 12h, 2w).")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the deleted items as JSON.")
@pass_state
def empty(state: State, older_than: str | None, dry_run: bool, as_json: bool) -> None:
    """Delete removed models for good (all, or those older than AGE)."""
    age = uc.parse_age(older_than) if older_than else None
    result = uc.empty_trash(state, older_than_s=age, dry_run=dry_run)
    if as_json:
        echo_json({"deleted": [i.model_dump(mode="json") for i in result.deleted], "kept": result.kept,
                   "bytes_freed": result.bytes_freed, "dry_run": dry_run})
        return
    verb = "would delete" if dry_run else "deleted"
    for i in result.deleted:
        click.echo(f"{verb} {i.id} {printable(i.model_id)} ({size_text(i.size_bytes)})")
    click.echo(f"{verb} {len(result.deleted)} item(s), {size_text(result.bytes_freed)}; kept {result.kept}")


@trash.command("keep")
@click.argument("age")
@pass_state
def keep(state: State, age: str) -> None:
    """Set how long removed models are kept (AGE like 30d, 2w; 0 deletes at the next removal)."""
    settings = uc.set_keep(state, age)
    click.echo(f"removed models are kept {settings.keep_days:g} day(s)")
