"""The `pumas` entry point: global options, lazy command loading, error policy.

Commands are imported only when used, so `pumas list` does not pay for
pyfuse3 or huggingface_hub.  A :class:`PumasError` becomes one line on
stderr and its exit code; anything else is a bug, shown with a traceback only
under ``--debug``.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from pumasfs import __version__
from pumasfs.base.errors import EXIT_BUG, EXIT_ERROR, PumasError, os_error_text
from pumasfs.base.paths import resolve_root

# pydantic looks for plugins (importlib.metadata entry points: every installed package's
# metadata read) when it builds its first model: 5-10 ms of each command that reads
# metadata.json, for plugins a CLI never uses.  A user who sets the variable keeps their value.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# name -> "module:attribute", relative to pumasfs.cli
COMMANDS: dict[str, str] = {
    "import": "import_cmd:import_",
    "identify": "identify_cmd:identify",
    "list": "list_cmd:list_",
    "show": "library_cmds:show",
    "edit": "library_cmds:edit",
    "rm": "rm_cmd:rm",
    "trash": "trash_cmds:trash",
    "scan": "library_cmds:scan",
    "doctor": "doctor_cmd:doctor",
    "app": "app_cmds:app",
    "materialize": "sync_cmds:materialize",
    "sync": "sync_cmds:sync",
    "relocate": "sync_cmds:relocate",
    "mount": "mount_cmds:mount",
    "umount": "mount_cmds:umount",
    "mounts": "mount_cmds:mounts",
    "enrich": "hub_cmds:enrich",
    "download": "hub_cmds:download",
    "demo": "demo_cmd:demo",
    "pin": "pin_cmds:pin",
    "unpin": "pin_cmds:unpin",
    "adopt": "adopt_cmds:adopt",
    "release": "adopt_cmds:release",
    "workflows": "adopt_cmds:workflows",
    "link": "civitai_cmds:link",
    "outdated": "civitai_cmds:outdated",
    "config": "civitai_cmds:config",
    "ui": "ui_cmd:ui",
}


# name -> its one-line description, so that `pumas --help` imports no command module.
# A command missing here is loaded to read its docstring (correct, only slower);
# tests/cli/test_help.py checks these lines against the docstrings.
SHORT_HELP: dict[str, str] = {
    "import": "Import model files or folders into the library.",
    "identify": "Identify model files and folders from their headers (never loads weights).",
    "list": "List the models in the library.",
    "show": "Show one model: its metadata, overrides, links and trust.",
    "edit": "Edit a model's metadata; edited fields are never overwritten by hub enrichment.",
    "rm": "Remove models: their links in every app, then the model into the trash.",
    "trash": "Models removed by `pumas rm`: list, restore or delete them for good.",
    "adopt": "Bring the models already in your apps' folders into the library, paths unchanged.",
    "release": "Undo adoption for APP: every pinned link becomes a real file again.",
    "pin": "Place MODEL at PATH in install APP instead of where the map puts it.",
    "unpin": "Drop MODEL's pin(s) in APP: the map places it there from then on.",
    "workflows": "List the model references in APP's saved ComfyUI workflows that it cannot resolve.",
    "scan": "Deep scan: rebuild models.db from the metadata.json files alone.",
    "doctor": "Check the library, its index and every app's links; optionally repair.",
    "app": "Register the app installs pumas feeds (ComfyUI, A1111/Forge, LM Studio, ...).",
    "materialize": "Link the whole library into an app install (full sync).",
    "sync": "Bring app folders up to date with the library (only what changed).",
    "relocate": "A drive moved from mount point OLD to NEW: rewrite links and recorded paths.",
    "mount": "Show APP's models tree at MOUNTPOINT, live, without writing into the app.",
    "umount": "Unmount a view made by `pumas mount` (a dead daemon's stale view too).",
    "mounts": "List the mounted views of this library: mountpoint, app, mode, daemon pid and state.",
    "enrich": "Match models with their Hugging Face repo and fill in their metadata.",
    "download": "Download a Hugging Face repo (or some of its files), or a CivitAI file, into the library.",
    "link": "Say which CivitAI version a model is, for files CivitAI does not know by hash.",
    "outdated": "List models with a newer version upstream.",
    "config": "Read or change pumas settings (stored in launcher-data/config/civitai.json).",
    "ui": "Browse, import, edit and download models in your browser.",
    "demo": "Generate a sample library, import it, link it into a sample ComfyUI, and show it live.",
}


def first_line(command: click.Command) -> str:
    """A command's description as its docstring's first line, never cut short."""
    text = command.short_help or command.help or ""
    return text.strip().split("\n", 1)[0].strip()


def write_command_list(formatter: click.HelpFormatter, rows: list[tuple[str, str]]) -> None:
    """The Commands section with whole descriptions (click cuts them at ~45 columns), wrapped."""
    if rows:
        with formatter.section("Commands"):
            formatter.write_dl(rows, col_spacing=2)


class FullHelpGroup(click.Group):
    """A group whose --help shows each subcommand's whole description."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, first_line(cmd)))
        write_command_list(formatter, rows)


class LazyGroup(FullHelpGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        command = getattr(importlib.import_module(f"pumasfs.cli.{module}"), attr)
        _collect_from_now_on()
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            text = SHORT_HELP.get(name)
            if text is None:
                cmd = self.get_command(ctx, name)
                text = first_line(cmd) if cmd is not None else ""
            rows.append((name, text))
        write_command_list(formatter, rows)


# State lives in its own module so that `python -m pumasfs.cli.main` and the
# command modules share one class (click finds the context object by type).
from pumasfs.cli.state import State  # noqa: E402
from pumasfs.cli.state import pass_state as pass_state  # noqa: E402  (re-exported: command modules may import it from here)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Library root. Default: $PUMAS_HOME, else $XDG_DATA_HOME/pumas (~/.local/share/pumas).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@click.version_option(__version__, prog_name="pumas")
@click.pass_context
def cli(ctx: click.Context, root: Path | None, debug: bool) -> None:
    """Keep one library of AI model files and show it to every app that needs it.

    \b
    Typical use:
      pumas import ~/Downloads/*.safetensors     copy models into the library
      pumas app add comfyui ~/ComfyUI            register an app install
      pumas materialize comfyui                  link the library into it
      pumas mount comfyui /tmp/view              or preview it live via FUSE
      pumas list --json                          everything, for scripts

    Exit codes: 0 ok, 1 error, 2 bad usage, 3 conflict (nothing applied),
    4 not found, 5 partial failure.
    """
    state = ctx.obj = State(resolve_root(root), debug)
    # The databases the command opened close when it ends, not whenever their objects are freed:
    # nothing of them waits for the interpreter's teardown (see main()).
    ctx.call_on_close(state.close)


def _os_error_line(e: OSError) -> str:
    return os_error_text(e) + (f": {e.filename}" if e.filename else "")


def _error_line(text: str) -> None:
    """One error line on stderr, control characters escaped (names in errors come from files)."""
    from pumasfs.cli.output import printable  # only on the error path: `pumas --help` loads no command module

    click.echo(f"pumas: {printable(text)}", err=True)


# True while main() runs as the program itself (the `pumas` script, `python -m pumasfs`), not
# called by a test or another program: only then may it freeze what the process holds.
_program = False


def _collect_from_now_on() -> None:
    """Turn garbage collection on for the command; in the program, what start-up made is left out.

    Start-up allocates what lives as long as the process (modules, classes, functions, click's
    objects), with the collector off.  Turned on as it was, its first pass would walk all of
    that (3-4 ms of a `pumas list`); frozen first (gc.freeze), those objects are never walked
    again, and the command's own garbage is collected as usual.
    """
    if _program:
        gc.freeze()
    gc.enable()


def main(argv: list[str] | None = None) -> None:
    # No garbage collection while the arguments are parsed and the command's modules load (2-3
    # ms of a `pumas list`); it is on again before the command runs (LazyGroup.get_command), so
    # a long command collects as usual, and on return whatever happened.
    global _program
    _program = argv is None
    gc.disable()
    try:
        _main(argv)
    finally:
        if _program:
            # The program is ending: everything alive now lives until the exit, so the
            # interpreter's last collection need not look at it.  That pass over every module,
            # class and function loaded costs 5-7 ms of each command (a fifth of a `pumas list`
            # past a bare interpreter).  Teardown still frees each object, atexit handlers run,
            # files flush; the command's databases were closed with its context (cli()).
            gc.freeze()
        gc.enable()


def _main(argv: list[str] | None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="pumas", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("pumas: aborted", err=True)
        sys.exit(130)
    except click.UsageError as e:
        # One line, like every other error; the command's --help has the rest.
        where = f"pumas {e.ctx.command_path.split(' ', 1)[1]}" if e.ctx and " " in e.ctx.command_path else "pumas"
        click.echo(f"pumas: {e.format_message()} (see `{where} --help`)", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        _error_line(e.format_message())
        sys.exit(e.exit_code)
    except PumasError as e:
        if debug:
            raise
        _error_line(e.message)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("pumas: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # `pumas list | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except OSError as e:
        if debug:
            raise
        _error_line(_os_error_line(e))
        sys.exit(EXIT_ERROR)
    except Exception as e:
        if not _is_sqlite_error(e):  # a bug: say so plainly
            _internal_error(e, debug)
        # A full disk or a read-only drive under models.db/registry.db is the user's
        # situation, not a bug: say it in one line (nothing was committed by SQLite).
        from pumasfs.store.index import cannot_write_reason

        reason = cannot_write_reason(e)
        if reason is None or debug:
            _internal_error(e, debug)
        click.echo(f"pumas: cannot change the library now: {reason} ({e})", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(0)


def _is_sqlite_error(e: BaseException) -> bool:
    """Without importing sqlite3: `pumas --help` never loads it, and a command that raised one has."""
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(e, sqlite3.Error)


def _internal_error(e: Exception, debug: bool) -> NoReturn:
    """A bug: the traceback with --debug, else one line that says so (called while ``e`` is being handled)."""
    if debug:
        raise e
    click.echo(f"pumas: internal error: {type(e).__name__}: {e} (run with --debug for a traceback)", err=True)
    sys.exit(EXIT_BUG)


if __name__ == "__main__":
    main()
