"""Run the real ``pumas`` command (``python -m pumasfs``) in a subprocess."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Variables of the caller's shell that would change what pumas does: the library root, the
# hub it talks to and as whom.  A test that wants one sets it explicitly.
_CALLER_ONLY = ("PUMAS_HOME", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "XDG_DATA_HOME", "XDG_CONFIG_HOME")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a pumas process in a test: offline, its own HOME, no root from the caller."""
    env = {k: v for k, v in os.environ.items() if k not in _CALLER_ONLY}
    env["HF_HUB_OFFLINE"] = "1"  # tests that need a hub start their own and override this
    env["HOME"] = str(home)
    env["XDG_DATA_HOME"] = str(home / ".local" / "share")
    env["HF_HOME"] = str(home / ".cache" / "huggingface")  # never the user's saved token
    env.update(extra or {})
    return env


def pumas_argv(*args: object, root: Path | None) -> list[str]:
    """The command line of ``pumas [--root ROOT] ARGS...`` as the tests run it (for a Popen to kill)."""
    cmd = [sys.executable, "-m", "pumasfs"]
    if root is not None:
        cmd += ["--root", str(root)]
    return cmd + [str(a) for a in args]


def run_pumas(
    *args: object,
    root: Path | None,
    env: Mapping[str, str],
    check: bool = True,
    input: str | None = None,
    timeout: float = 300,
) -> Run:
    """``pumas [--root ROOT] ARGS...``; with ``check``, a non-zero exit fails the test with the output."""
    p = subprocess.run(pumas_argv(*args, root=root), capture_output=True, text=True, errors="replace", env=dict(env), input=input,
                       timeout=timeout, check=False)
    result = Run(p.returncode, p.stdout, p.stderr)
    if check and p.returncode != 0:
        raise AssertionError(f"pumas {' '.join(map(str, args))} exited {p.returncode}:\n{p.stderr}{p.stdout}")
    return result


def run_on_a_tty(*args: object, root: Path | None, env: Mapping[str, str], answer: bytes = b"",
                 timeout: float = 300) -> tuple[int, bytes]:
    """``pumas [--root ROOT] ARGS...`` on a pseudo-terminal (stdin, stdout and stderr), typing ``answer``:
    (exit code, everything it wrote).  A child silent for ``timeout`` seconds is killed."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(pumas_argv(*args, root=root), env=dict(env), stdin=follower, stdout=follower,
                                stderr=follower, close_fds=True)
        os.close(follower)
        if answer:
            os.write(leader, answer)
        got = bytearray()
        while True:
            ready, _, _ = select.select([leader], [], [], timeout)
            if not ready:
                proc.kill()
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            got += chunk
        return proc.wait(timeout=60), bytes(got)
    finally:
        os.close(leader)


def assert_one_line_error(run: Run) -> None:
    """The user-error contract: non-zero exit, one line on stderr, no traceback."""
    assert run.returncode != 0, run
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines, "no error message"
    assert "Traceback" not in run.stderr, run.stderr
    assert lines[-1].startswith("pumas: "), run.stderr
