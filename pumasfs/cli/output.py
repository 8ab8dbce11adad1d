"""Printing for every command: JSON for scripts, tables and progress for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


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
    cells = [_printable_row(row) for row in rows]
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
    # One format for every whole row (a row's cells padded by str.format in one call, not one
    # ljust each: half the cost of a 10,000-row table); a shorter row is padded cell by cell.
    line = "  ".join(f"{{:<{w}}}" for w in widths).format
    n = len(widths)
    lines = [line(*headers).rstrip()]
    lines += [line(*row).rstrip() if len(row) == n else
              "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in cells]
    # One write: 10,000 rows cost one syscall, not 10,000.  Every cell went through printable(),
    # so the text holds no escape sequence for click to strip (color=True skips that search).
    click.echo("\n".join(lines), color=True)


def _printable_row(row: Sequence[Any]) -> Sequence[str]:
    """The row's cells as printable text (None as ""); a row of printable strings as it is."""
    try:
        if "".join(row).isprintable():  # one test for the whole row (a TypeError: some cell is not a str)
            return row
    except TypeError:
        pass
    return [("" if c is None else printable(c)) for c in row]


class CliReporter:
    """A use case's Reporter on a terminal: one progress bar on stderr, warnings above it.

    The bar shows only when stderr is a terminal and ``bar`` is true; it names
    the item being worked on and uses the binary units of ``size_text``.
    Warnings print as ``pumas: warning: ...`` lines (never on the bar's line)
    unless ``warnings`` is false (``--json`` runs keep stderr for errors).
    Use it as a context manager so the bar is cleared at the end.
    """

    def __init__(self, *, bar: bool = True, warnings: bool = True) -> None:
        self._want_bar = bar and sys.stderr.isatty()
        self._warnings = warnings
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._unit = ""
        self._label = ""

    def __enter__(self) -> CliReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def start(self, label: str, total: int | None = None, *, unit: str = "bytes") -> None:
        if not self._want_bar:
            return
        self._label = label
        if self._progress is None or unit != self._unit:
            self.close()
            self._unit = unit
            self._progress = _rich_progress(unit)
            self._progress.start()
            self._task = self._progress.add_task(label, total=total)
        else:
            assert self._task is not None
            self._progress.reset(self._task, total=total, description=label)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def item(self, name: str) -> None:
        if self._progress is not None and self._task is not None:
            shown = name if len(name) <= 40 else "…" + name[-39:]
            self._progress.update(self._task, description=f"{self._label} {shown}")

    def warn(self, message: str) -> None:
        if not self._warnings:
            return
        if self._progress is not None:
            # Printed through the live display: above the bar, never on its line.
            self._progress.console.print(f"pumas: warning: {message}", markup=False, highlight=False,
                                         soft_wrap=True)
        else:
            warn(message)


def _rich_progress(unit: str) -> Progress:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
    from rich.text import Text

    class Size(ProgressColumn):
        def render(self, task: Task) -> Text:
            total = size_text(task.total) if task.total is not None else "?"
            return Text(f"{size_text(task.completed)}/{total}")

    class Speed(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{size_text(speed)}/s" if speed else "")

    columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    if unit == "bytes":
        columns += [Size(), Speed(), TimeRemainingColumn()]
    else:
        columns += [MofNCompleteColumn(), TimeRemainingColumn()]
    return Progress(*columns, console=Console(stderr=True), transient=True)
