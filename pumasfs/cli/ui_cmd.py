"""`pumas ui`: serve the library in a browser on this machine."""

from __future__ import annotations

import socket
import sys
import threading
import webbrowser
from pathlib import Path

import click

from pumasfs.base.errors import PumasError
from pumasfs.cli.output import warn
from pumasfs.cli.state import State, pass_state

LOOPBACK = ("127.0.0.1", "localhost", "::1")
URL_FILE = "ui-url"


def _write_private(path: Path, text: str) -> None:
    """Atomically, mode 0600 from the start: the file holds the token."""
    import os

    from pumasfs.base.atomic import write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    old = os.umask(0o077)
    try:
        write_bytes(path, text.encode())
    finally:
        os.umask(old)
    os.chmod(path, 0o600)


def _free_port(host: str, port: int) -> int:
    """``port`` if it is free (0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as e:
            raise PumasError(f"cannot listen on {host}:{port}: {e.strerror} (try --port N)") from None
        return int(s.getsockname()[1])


@click.command("ui")
@click.option("--port", type=int, default=8765, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but 127.0.0.1 exposes your library to the network: a warning is printed.")
@click.option("--no-browser", is_flag=True, help="Print the address; do not open a browser.")
@click.option("--allow", "allowed", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder the page may import from ('import from this machine'); repeatable. "
                   "Default: ~/Downloads, else your home folder.")
@click.option("--no-lookup", "lookup", flag_value=False, default=True, help="No hub lookup after imports.")
@pass_state
def ui(state: State, port: int, host: str, no_browser: bool, allowed: tuple[Path, ...], lookup: bool) -> None:
    """Browse, import, edit and download models in your browser.

    Starts a local web server and opens the library in your browser. The
    printed address holds a secret token for this run: only a browser that
    opened it can use the page. Ctrl-C stops the server.

    \b
    Examples:
      pumas ui
      pumas ui --port 9000 --no-browser
      pumas ui --allow ~/Downloads --allow /mnt/models
    """
    import uvicorn

    from pumasfs.ui.allowlist import default_roots
    from pumasfs.ui.security import Guard
    from pumasfs.ui.server import UiConfig, build_app

    if host not in LOOPBACK:
        warn(f"listening on {host}: anyone who can reach this address and learns the token can change your library")
    port = _free_port(host, port)
    guard = Guard(host=host, port=port)
    config = UiConfig(root=state.layout.root, guard=guard, allowed=list(allowed) or default_roots(),
                      lookup_after_import=lookup)
    app = build_app(config)
    click.echo(f"pumas ui: serving {state.layout.root}")
    click.echo(f"open {guard.url}")
    sys.stdout.flush()
    url_file = state.layout.run_dir / URL_FILE
    _write_private(url_file, guard.url + "\n")  # for a service: the address to open, readable by this user only
    if not no_browser:
        threading.Timer(0.8, lambda: webbrowser.open(guard.url)).start()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           lifespan="on", timeout_graceful_shutdown=3))
    try:
        server.run()  # Ctrl-C: uvicorn stops accepting, finishes the lifespan (jobs cancelled, uploads removed)
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled; stopping is what the user asked for
    finally:
        url_file.unlink(missing_ok=True)
    click.echo("pumas ui: stopped")
