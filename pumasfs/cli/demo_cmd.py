"""`pumas demo`: the whole flow on a generated sample library."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.option("--dir", "demo_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-root"),
              show_default=True, help="Folder for the demo's library and ComfyUI install (made fresh).")
@click.option("--no-mount", is_flag=True, help="Skip the FUSE view step.")
def demo(demo_dir: Path, no_mount: bool) -> None:
    """Generate a sample library, import it, link it into a sample ComfyUI, and show it live.

    The demo never touches your real library: it works in --dir only.
    """
    from pumasfs.sample.demo import run_demo

    run_demo(demo_dir.absolute(), mount=not no_mount)
