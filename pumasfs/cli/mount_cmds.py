"""`pumas mount`, `pumas umount`, `pumas mounts`: live FUSE views of an app's models tree."""

from __future__ import annotations

import os
from pathlib import Path

import click

from pumasfs.base.errors import PumasError
from pumasfs.cli.complete import complete_app_selectors
from pumasfs.cli.output import echo_json, print_table, printable
from pumasfs.cli.state import State, pass_state


@click.command("mount")
@click.argument("app", shell_complete=complete_app_selectors)
@click.argument("mountpoint", type=click.Path(file_okay=False, path_type=Path))
@click.option("--content", is_flag=True,
              help="Serve file contents instead of symlinks (for sandboxed apps: Flatpak, Docker).")
@click.option("--foreground", "-f", is_flag=True, help="Stay in the foreground until Ctrl-C (for systemd).")
@click.option("--allow-other", is_flag=True,
              help="Let other users see the view (non-root needs user_allow_other in /etc/fuse.conf).")
@pass_state
def mount(state: State, app: str, mountpoint: Path, content: bool, foreground: bool, allow_other: bool) -> None:
    """Show APP's models tree at MOUNTPOINT, live, without writing into the app.

    The view holds exactly what `pumas materialize APP` would write, and
    follows the library: an import, removal or edit shows up within about a
    second. Nothing can be written through it.

    \b
    Preview mode (default): every entry is a symlink to the library file,
    so `ls -l` shows where it comes from and reads never pass through FUSE.
    Content mode (--content): entries are regular read-only files with the
    library's bytes, for apps that cannot follow links out of a sandbox;
    bind-mount the view as the app's models folder.

    \b
    Examples:
      pumas mount comfyui ~/views/comfyui
      pumas mount comfyui /srv/comfy-models --content
      docker run -v /srv/comfy-models:/app/models:ro ...
      pumas mounts
      pumas umount ~/views/comfyui
    """
    from pumasfs.view.daemon import mount as start_view
    from pumasfs.view.source import AppPlanSource

    if not os.path.exists("/dev/fuse"):
        raise PumasError("FUSE is not available here (/dev/fuse is missing); use `pumas materialize` instead")
    state.library.index  # noqa: B018 -- makes sure models.db exists (rebuilt if it was deleted)
    # The daemon opens its own connection: no SQLite handle may cross the fork.
    state.library.close()
    source = AppPlanSource(state.layout, app)
    mode = "content" if content else "preview"

    def ready() -> None:
        click.echo(f"view of {source.app} ({mode}) mounted at {os.path.abspath(mountpoint)}; Ctrl-C unmounts",
                   err=True)

    rec = start_view(state.layout, source, mountpoint, content=content, foreground=foreground,
                     allow_other=allow_other, on_ready=ready)
    if rec is not None:
        click.echo(f"view of {rec.app} ({rec.mode}) mounted at {rec.mountpoint} (pid {rec.pid}); "
                   f"`pumas umount {rec.mountpoint}` stops it")


@click.command("umount")
@click.argument("mountpoint", type=click.Path(file_okay=False, path_type=Path))
@click.option("--lazy", is_flag=True, help="Detach now even if an app still has files open.")
@pass_state
def umount(state: State, mountpoint: Path, lazy: bool) -> None:
    """Unmount a view made by `pumas mount` (a dead daemon's stale view too).

    \b
    Examples:
      pumas umount ~/views/comfyui
      pumas umount --lazy /srv/comfy-models
    """
    from pumasfs.view.daemon import umount as stop_view

    click.echo(stop_view(state.layout, mountpoint, lazy=lazy))


@click.command("mounts")
@click.option("--all", "all_roots", is_flag=True, help="Every library's views, each with its root.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def mounts(state: State, all_roots: bool, as_json: bool) -> None:
    """List the mounted views of this library: mountpoint, app, mode, daemon pid and state.

    A "stale" view's daemon died; `pumas umount MOUNTPOINT` cleans it.
    Views of other library roots are counted, not listed; `--all` lists
    them too, with their root ("?" for a view no library you used recorded).

    \b
    Examples:
      pumas mounts
      pumas mounts --all
      pumas mounts --json | jq -r '.[].mountpoint'
    """
    from pumasfs.usecases.mounts import list_mounts

    listing = list_mounts(state, all_roots=all_roots)
    if as_json:
        echo_json([v.model_dump(mode="json") for v in listing.views])
        return
    if not listing.views:
        where = "" if all_roots else f" of {printable(listing.root)}"
        click.echo(f"no views{where} mounted (see `pumas mount --help`)")
    elif all_roots:
        print_table([(v.mountpoint, v.root or "?", v.app or "?", v.mode or "?", v.pid or "?", v.state)
                     for v in listing.views], ["MOUNTPOINT", "ROOT", "APP", "MODE", "PID", "STATE"])
    else:
        click.echo(f"views of {printable(listing.root)}:")
        print_table([(v.mountpoint, v.app or "?", v.mode or "?", v.pid or "?", v.state) for v in listing.views],
                    ["MOUNTPOINT", "APP", "MODE", "PID", "STATE"])
    if listing.others:
        click.echo(f"{listing.others} view(s) of other library roots not shown: `pumas mounts --all` lists them")
