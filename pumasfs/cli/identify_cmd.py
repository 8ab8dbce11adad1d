"""``pumas identify PATH... [--json]``: what each file or model folder is, from its headers.

Thin: expand the arguments, call ``identify_path``, print. A bad path is one line on stderr
(``pumas: <path>: <reason>``) and the others are still reported; the exit code is 1 if any failed.
A folder that is not itself a model (no manifest) is expanded into the weights files it holds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pumasfs.base.errors import EXIT_ERROR, EXIT_OK, PumasError
from pumasfs.cli.output import echo_json, print_table, warn
from pumasfs.identify import Identification, identify_path
from pumasfs.identify.folders import folder_kind, weight_files

COLUMNS = ("path", "format", "subtype", "family", "variant", "precision", "params", "conf")


def human_params(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def _expand(arg: str) -> list[Path]:
    p = Path(arg)
    if p.is_dir() and folder_kind(p) is None:
        files = weight_files(p)
        if len(files) != 1:
            # a plain directory of models: each weights file (or model sub-folder) on its own
            subdirs = sorted(q for q in p.iterdir() if q.is_dir() and folder_kind(q) is not None)
            loose = [f for f in files if not any(s in f.parents for s in subdirs)]
            return sorted(loose + subdirs) or [p]
    return [p]


def _row(r: Identification) -> list[str]:
    flag = " !" if r.unsafe_format else ""
    return [r.path, r.format + flag, r.subtype or "-", r.family or "-", r.variant or "-", r.precision or "-",
            human_params(r.param_count), f"{r.confidence:.2f}"]


def print_records(records: list[Identification]) -> None:
    print_table([_row(r) for r in records], COLUMNS)
    for r in records:
        for w in r.warnings:
            warn(f"{r.path}: {w}")
        if r.unsafe_globals:
            warn(f"{r.path}: unsafe pickle globals: {', '.join(r.unsafe_globals)}")


@click.command("identify")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="One JSON array of records instead of a table.")
def identify(paths: tuple[str, ...], as_json: bool) -> None:
    """Identify model files and folders from their headers (never loads weights)."""
    records: list[Identification] = []
    failed = 0  # the exit code of the failures: 4 when every one was a missing path
    for arg in paths:
        for p in _expand(arg):
            try:
                records.append(identify_path(p))
            except PumasError as e:
                failed = e.exit_code if failed in (0, e.exit_code) else EXIT_ERROR
                click.echo(f"pumas: {e.message}", err=True)
            except OSError as e:  # unreadable in a way identify did not foresee: still one line
                failed = EXIT_ERROR
                click.echo(f"pumas: {p}: {e.strerror or e}", err=True)
    if as_json:
        echo_json([r.model_dump() for r in records])
    elif records:
        print_records(records)
    # Some identified: 1, as before; nothing identified and every path missing: 4.
    sys.exit(EXIT_ERROR if failed and records else failed or EXIT_OK)
