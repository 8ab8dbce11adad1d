"""The program's end (issue 10): `pumas` skips the interpreter's last garbage collection over what
start-up made (gc.freeze), so nothing may rely on that collection: each command closes the
databases it opened, and an exit leaves no write-ahead log or shared-memory file behind."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.support.comfyui import make_comfyui
from tests.support.safetensors import lora


def _left_open(root: Path, name: str = "*.db") -> list[str]:
    """SQLite's -wal / -shm files: the last writer to close merges and removes them."""
    return sorted(str(p.relative_to(root)) for p in root.rglob(f"{name}-*"))


def test_each_command_closes_its_databases(tmp_path: Path, root: Path, pumas) -> None:
    pumas("import", lora(tmp_path / "in" / "detail.safetensors"), "--no-lookup")
    assert _left_open(root) == []
    pumas("app", "add", "comfyui", make_comfyui(tmp_path / "ComfyUI"))
    pumas("materialize", "comfyui")
    assert _left_open(root) == []
    out = pumas("list").stdout
    assert "detail" in out and "comfyui" in out
    # (list reads registry.db read-only: a reader may leave its -shm, never a writer)
    assert _left_open(root, "models.db") == []
    for command in (["edit", "detail", "--set", "tags=a,b"], ["sync", "comfyui"], ["doctor"], ["scan"],
                    ["rm", "detail", "--yes"], ["trash", "list"], ["app", "remove", "comfyui"]):
        pumas(*command)
        assert _left_open(root, "models.db") == [], command
    assert _left_open(root) == []  # the writers of registry.db closed it too


def test_an_error_still_closes_them(tmp_path: Path, root: Path, pumas) -> None:
    pumas("import", lora(tmp_path / "in" / "detail.safetensors"), "--no-lookup")
    bad = pumas("show", "no-such-model", check=False)
    assert bad.returncode == 4 and bad.stderr.startswith("pumas: ")
    assert _left_open(root) == []


def _gc_after(code: str) -> tuple[int, bool]:
    """(objects frozen out of collection, collector on) after ``code`` ran main() in a fresh interpreter."""
    run = ("import gc, sys\nfrom pumasfs.cli.main import main\n"
           f"try:\n    {code}\nexcept SystemExit:\n    pass\nprint(gc.get_freeze_count(), gc.isenabled())")
    out = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, check=True).stdout
    frozen, enabled = out.splitlines()[-1].split()  # after what the command printed
    return int(frozen), enabled == "True"


def test_only_the_program_freezes_what_start_up_made(root: Path) -> None:
    # the program (`pumas`, `python -m pumasfs`: main() reads sys.argv): start-up's objects are
    # never walked again by the collector, which is on for the command
    frozen, enabled = _gc_after(f"sys.argv = ['pumas', '--root', {str(root)!r}, 'list']; main()")
    assert frozen > 10_000 and enabled
    # a caller of main(argv) (a test, another program) keeps its collector as it was
    assert _gc_after(f"main(['--root', {str(root)!r}, 'list'])") == (0, True)


def test_the_installed_script_starts_like_python_m(root: Path) -> None:
    """`pumas` (the console script) and `python -m pumasfs` both enter through cli/program.py, which
    turns the collector off before the CLI's modules load (collections while they load cost the
    installed script 2 ms more than `python -m` did)."""
    target = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]["scripts"]["pumas"]
    module, attr = target.split(":")
    code = ("import gc, sys, importlib\n"
            f"m = importlib.import_module({module!r})\n"
            "print(gc.isenabled(), 'pumasfs.cli.main' in sys.modules)\n"
            f"sys.argv = ['pumas', '--root', {str(root)!r}, 'list']\n"
            f"getattr(m, {attr!r})()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "False True"  # off while the CLI loaded
    assert "no models yet" in out.stdout
