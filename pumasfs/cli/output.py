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


def warn(message: str) -> None:
    click.echo(f"pumas: warning: {message}", err=True)


def is_tty() -> bool:
    return sys.stdout.isatty()


def print_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """A rich table on a terminal; plain aligned columns in a pipe."""
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    if is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*headers, box=None, pad_edge=False, highlight=False)
        for row in cells:
            table.add_row(*row)
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
