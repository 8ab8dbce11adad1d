"""The progress display on a real terminal (a pty): it names the file, and warnings get their own line."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.support.cli import run_on_a_tty

from ..importer.helpers import lora
from ..materializer.conftest import make_comfyui

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_the_bar_names_the_file_and_warnings_stay_off_its_line(pumas, root: Path, tmp_path: Path) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    pumas("app", "add", "comfyui", comfy)
    pumas("materialize", "comfyui")
    # A file of the user's where the new model's link would go: the catch-up sync warns mid-run.
    (comfy / "models" / "loras" / "big-lora.safetensors").write_bytes(b"mine")
    src = tmp_path / "in"
    src.mkdir()
    lora(src / "big-lora.safetensors", seed=1)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path / "home"), "PYTHONPATH": os.getcwd()}
    _, out = run_on_a_tty("import", src, root=root, env={**env, "COLUMNS": "160"})
    text = out.decode("utf-8", "replace")
    plain = ANSI.sub("", text).replace("\r", "\n")
    assert re.search(r"importing big-lora\.safetensors .*B/", plain), plain  # the bar names the file, in B/KiB
    warning = [line for line in plain.splitlines() if "pumas: warning:" in line]
    assert warning and all(line.lstrip().startswith("pumas: warning:") for line in warning), plain
    assert "conflict" in " ".join(warning)
