"""Printing for every command: JSON for scripts, tables and progress for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def size_text(n: int | float | None) -> str:
    """Bytes for people: ``512 B``, ``12.3 KiB``, ``4.2 GiB``."""
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def printable(text: object) -> str:
    """Text safe to print to a terminal: control characters shown as escapes, never sent raw.

    File names and metadata come from strangers (a downloaded file's original
    name, a CivitAI title); an ESC or a bidi override in them must not move
    the cursor, recolour the terminal or reorder what the user reads.  Bytes
    of a name that is not UTF-8 (surrogate escapes) are shown as ``\\xNN``.
    """
    s = "" if text is None else str(text)
    if s.isprintable():
        return s
    out = []
    for ch in s:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == " " or ch.isprintable():
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


def warn(message: str) -> None:
    click.echo(f"pumas: warning: {printable(message)}", err=True)


def is_tty() -> bool:
    return sys.stdout.isatty()


def print_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """A rich table on a terminal; plain aligned columns in a pipe."""
    cells = [[("" if c is None else printable(c)) for c in row] for row in rows]
    if is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*headers, box=None, pad_edge=False, highlight=False)
        from rich.markup import escape

        for row in cells:
            table.add_row(*(escape(c) for c in row))  # a name like "[bold]x" is text, not markup
        Console().print(table)
        return
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


class _Progress:
    def __init__(self, progress: Any, task: Any) -> None:
        self._p, self._t = progress, task

    def advance(self, n: int = 1) -> None:
        if self._p is not None:
            self._p.advance(self._t, n)

    def update(self, **kw: Any) -> None:
        if self._p is not None:
            self._p.update(self._t, **kw)


@contextmanager
def progress(description: str, total: int | None, *, unit: str = "bytes", quiet: bool = False) -> Iterator[_Progress]:
    """A progress bar on stderr when it is a terminal; nothing otherwise or when quiet."""
    if quiet or not sys.stderr.isatty():
        yield _Progress(None, None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
        TimeRemainingColumn, TransferSpeedColumn,
    )

    columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    if unit == "bytes":
        columns += [DownloadColumn(binary_units=True), TransferSpeedColumn(), TimeRemainingColumn()]
    else:
        columns += [MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as p:
        yield _Progress(p, p.add_task(description, total=total))
