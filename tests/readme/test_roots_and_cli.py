"""What README.md promises about the command line, checked through the real CLI: where the library root
comes from, exit codes, --debug, progress only on a terminal, the demo and shell completion."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pumasfs.base.errors import EXIT_NOT_FOUND, EXIT_USAGE
from tests.support.cli import assert_one_line_error, cli_env, pumas_argv, run_on_a_tty, run_pumas
from tests.support.safetensors import LORA, lora, write_safetensors

REPO = Path(__file__).resolve().parents[2]


def _ids(run) -> list[str]:
    return [m["model_id"] for m in run.json()]


def test_root_comes_from_flag_then_pumas_home_then_xdg_data_home_then_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    xdg = tmp_path / "xdg"
    xdg.mkdir()
    env = cli_env(home)
    env["XDG_DATA_HOME"] = str(xdg)
    env_home = {**env, "PUMAS_HOME": str(tmp_path / "from-env")}

    # $PUMAS_HOME, when set, is the root.
    [r] = run_pumas("import", "--json", lora(tmp_path / "a.safetensors", 1), root=None, env=env_home).json()
    assert (tmp_path / "from-env" / "shared-resources" / "models" / r["model_id"] / "a.safetensors").is_file()
    assert _ids(run_pumas("list", "--json", root=None, env=env_home)) == [r["model_id"]]
    # --root wins over it.
    flagged = tmp_path / "flagged"
    run_pumas("import", lora(tmp_path / "b.safetensors", 2), root=flagged, env=env_home)
    assert _ids(run_pumas("list", "--json", root=flagged, env=env_home)) == ["diffusion/unknown/b"]
    assert _ids(run_pumas("list", "--json", root=None, env=env_home)) == [r["model_id"]]

    # Without it, $XDG_DATA_HOME/pumas.
    run_pumas("import", lora(tmp_path / "c.safetensors", 3), root=None, env=env)
    assert (xdg / "pumas" / "shared-resources" / "models" / "diffusion" / "unknown" / "c" / "c.safetensors").is_file()
    # Without either, ~/.local/share/pumas.
    env.pop("XDG_DATA_HOME")
    (home / ".local" / "share").mkdir(parents=True)
    run_pumas("import", lora(tmp_path / "d.safetensors", 4), root=None, env=env)
    assert (home / ".local/share/pumas/shared-resources/models/diffusion/unknown/d/d.safetensors").is_file()
    assert _ids(run_pumas("list", "--json", root=None, env=env)) == ["diffusion/unknown/d"]


def test_bad_usage_is_exit_2_in_one_line(pumas) -> None:
    for args in (("--no-such-option",), ("list", "--no-such-option"), ("nosuchcommand",), ("edit",)):
        run = pumas(*args, check=False)
        assert run.returncode == EXIT_USAGE, (args, run)
        assert_one_line_error(run)


def test_debug_shows_the_traceback_the_plain_run_hides(pumas) -> None:
    plain = pumas("show", "no/such/model", check=False)
    assert plain.returncode == EXIT_NOT_FOUND
    assert_one_line_error(plain)
    debug = pumas("--debug", "show", "no/such/model", check=False)
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr and "no/such/model" in debug.stderr


def _import_on(tmp_path: Path, src: Path, *, tty: bool) -> tuple[int, bytes]:
    """`pumas import SRC` with its output on a pseudo-terminal or pipes: (exit code, what stderr got;
    on the terminal, stdout and stderr together)."""
    root = tmp_path / ("root-tty" if tty else "root-pipe")
    cmd = pumas_argv("import", "--no-lookup", src, root=root)
    env = {**cli_env(tmp_path / "home"), "COLUMNS": "120", "TERM": "xterm"}
    if not tty:
        p = subprocess.run(cmd, env=env, capture_output=True, timeout=300, check=False)
        return p.returncode, p.stderr
    return run_on_a_tty("import", "--no-lookup", src, root=root, env=env)


def test_progress_shows_on_a_terminal_and_stays_quiet_in_a_pipe(tmp_path: Path) -> None:
    src = write_safetensors(tmp_path / "big.safetensors", LORA, total_size=64 * 1024 * 1024)  # sparse
    bar = b"\x1b[2Kimporting "  # the bar's line being redrawn: erase line, then its label
    code, tty_out = _import_on(tmp_path, src, tty=True)
    assert code == 0, tty_out[-2000:]
    assert bar in tty_out and "\u2501".encode() in tty_out, tty_out[-2000:]
    code, pipe_err = _import_on(tmp_path, src, tty=False)
    assert code == 0, pipe_err
    assert b"importing" not in pipe_err and b"\x1b[" not in pipe_err and b"\r" not in pipe_err, pipe_err


@pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="the demo ends with a FUSE view: /dev/fuse is missing")
def test_the_demo_runs_end_to_end(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    demo = tmp_path / "demo-root"
    run = run_pumas("demo", "--dir", demo, root=None, env=env, timeout=600)
    assert "Traceback" not in run.stderr
    assert f"demo done: everything is under {demo}" in run.stdout
    # Twelve models imported, every link in the sample ComfyUI install resolves into the library,
    # and the live view it showed is unmounted again.
    models = run_pumas("list", "--json", root=demo, env=env).json()
    assert len(models) == 12
    install = demo / "comfyui-versions" / "0.3.64" / "models"
    links = [p for p in install.rglob("*") if p.is_symlink()]
    lib = os.path.realpath(demo / "shared-resources" / "models")
    assert len(links) >= 10 and all(os.path.realpath(p).startswith(lib + "/") and p.exists() for p in links)
    # (`mounts` lists this root's views only: other test runs' views are not in it.)
    assert run_pumas("mounts", "--json", root=demo, env=env).json() == []


def _complete(words: str) -> str:
    """A bash script: source the shipped completion, ask it about the words typed so far, print its answers."""
    script = REPO / "contrib" / "completion" / "pumas.bash"
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    bash = (
        f"source {script}\n"
        f"COMP_WORDS=({words})\n"
        + ("COMP_WORDS+=('')\n" if words.endswith(" ") else "")
        + f"COMP_CWORD={cword}\n"
        "_pumas_completion pumas\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    return bash


def test_shell_completion_completes_commands_and_options(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    launcher = bindir / "pumas"  # the script calls `pumas`: this one runs the code under test
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} -m pumasfs \"$@\"\n")
    launcher.chmod(0o755)
    env = {**cli_env(tmp_path / "home"), "PATH": f"{bindir}:{os.environ.get('PATH', '')}",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}

    def complete(words: str) -> list[str]:
        p = subprocess.run(["bash", "-c", _complete(words)], env=env, capture_output=True, text=True,
                           timeout=60, check=False)
        assert p.returncode == 0, p.stderr
        return [line for line in p.stdout.splitlines() if line]

    assert complete("pumas im") == ["import"]
    assert {"materialize", "mount", "mounts"} <= set(complete("pumas m"))
    assert "--skip-conflicts" in complete("pumas materialize comfyui --sk")
    for name in ("pumas.zsh", "pumas.fish"):
        text = (REPO / "contrib" / "completion" / name).read_text()
        assert "_PUMAS_COMPLETE" in text  # the same click completion, for the other shells
