"""What `pumas list` and `pumas --help` load: start-up is most of a listing's cost (issue 10), so a
module that a reading command does not need must not creep back into its imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pumasfs.store.library import Library
from tests.support.models import add_model

# Each costs milliseconds to load and none is needed to list models: pydantic (records), rich (a
# terminal's tables), hashlib (OpenSSL), click's completion machinery (only on a Tab press).
HEAVY = ("pydantic", "rich", "hashlib", "_hashlib", "click.shell_completion", "pumasfs.store.library", "pumasfs.store.metadata")


def _loaded(*argv: str) -> tuple[set[str], bool]:
    """The heavy modules `pumas ARGV` loaded (in a fresh interpreter), and whether GC is on after it.

    Only what pumas loads counts: under CI, coverage measures this child too and loads hashlib
    itself before pumas starts.
    """
    code = ("import sys, gc; before = set(sys.modules); from pumasfs.cli.main import main\n"
            f"try:\n    main({list(argv)!r})\nexcept SystemExit: pass\n"
            f"print(sorted(m for m in set(sys.modules) - before if m in {HEAVY!r}), gc.isenabled())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    names, enabled = out.strip().splitlines()[-1].rsplit(" ", 1)
    return set(eval(names)), enabled == "True"  # noqa: S307 (our own print of a list of names)


def test_list_loads_none_of_the_heavy_modules(library: Library, root: Path, pumas) -> None:
    add_model(library, "a")
    add_model(library, "b", family="sdxl")
    library.close()
    pumas("list")  # the first command marks the library as itself (what every later one checks quickly)
    for argv in (["list"], ["list", "--limit", "1"], ["list", "--search", "a", "--family", "sd1"]):
        loaded, gc_on = _loaded("--root", str(root), *argv)
        assert loaded == set(), argv
        assert gc_on, argv


def test_help_and_a_bad_option_leave_the_garbage_collector_on(root: Path) -> None:
    for argv in (["--help"], ["list", "--bogus"]):
        loaded, gc_on = _loaded(*argv)
        assert gc_on and loaded == set(), argv
    assert _loaded("--root", str(root / "missing"), "list")[1]  # an error on the way (NotFound)
