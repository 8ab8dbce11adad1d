"""Benchmark: `pumas --help` and `pumas list` on a 1,000-model library vs a bare `python3 -c pass`.

Run:  .venv/bin/python tests/benchmarks/bench_cli_startup.py [--n 1000] [--runs 15]
 or:  .venv/bin/python -m pytest tests/benchmarks/bench_cli_startup.py -m benchmark -s

The floor is the same interpreter starting and exiting (`python -c pass`), measured in the same
run, interleaved with the commands so that a busy machine slows all of them alike.  Each figure
is the median of ``--runs`` runs, in wall-clock and in CPU time (user + system of the child: on a
shared machine the steadier of the two), output to a pipe (no progress bars, no rich tables).
Each ratio's spread is the quartiles of the per-round ratios (a command over the floor measured
next to it), so a noisy round moves both alike.  Two references are timed beside them:
`python -c "import click"`, what any click CLI pays before its own code runs, and `python -S -c
pass`, the interpreter without `site`.  The floor holds what `site` loads for every process of the
environment: in an editable install (`pip install -e`, as here and in CI) its import hook loads
pathlib, re and urllib (about half the floor); an installed wheel does not, so there the floor is
lower and the same commands, which load those modules themselves, are a larger multiple of it.
Goal (issue 10): `--help` and `list` each within 3x the floor.  The library is built once with
real model folders (metadata.json, a small weights file each) and an app install linked to it, so
that `list` also reads the registry for its USED BY column.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def build(root: Path, n: int) -> None:
    from materializer.registry import close_shared
    from pumasfs.usecases import apps as app_uc
    from pumasfs.usecases import sync as sync_uc
    from pumasfs.usecases.workspace import Workspace
    from tests.materializer.conftest import add_model, make_comfyui

    ws = Workspace(root)
    families = ("sd1", "sdxl", "flux")
    subtypes = ("checkpoints", "loras", "vae", "controlnet")
    for i in range(n):
        add_model(ws.library, f"model-{i:05d}", family=families[i % 3], subtype=subtypes[i % 4],
                  data=f"weights {i}".encode() * 4)
    comfy = make_comfyui(root.parent / "ComfyUI")
    app_uc.add_app(ws, "comfyui", comfy)
    sync_uc.materialize(ws, "comfyui")
    ws.close()
    close_shared()


def _time(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child: user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    # cwd too: `python -m` puts the current folder first on sys.path, before PYTHONPATH.
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env, cwd=cwd)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def startup_env(code: Path, pycache: Path) -> dict[str, str]:
    """The environment of a user's shell: compiled modules cached (.pyc), as an installed package has.

    PYTHONDONTWRITEBYTECODE (set in some dev shells and CI) would make every run compile every
    module it imports again: that measures the compiler, not pumas.  The cache goes to a
    folder of the run (PYTHONPYCACHEPREFIX), never into the checkout.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(code)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def run(n: int = 1000, runs: int = 15, code: Path = ROOT) -> dict[str, object]:
    """``code``: the pumas checkout whose commands are timed (another one gives a before/after)."""
    with tempfile.TemporaryDirectory(prefix="pumas-bench-cli-") as tmp:
        env = startup_env(code, Path(tmp) / "pycache")
        root = Path(tmp) / "root"
        build(root, n)
        py = sys.executable
        pumas = [py, "-m", "pumasfs", "--root", str(root)]
        cases = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import click'": [py, "-c", "import click"],
            "python -S -c pass": [py, "-S", "-c", "pass"],
            "pumas --help": [*pumas, "--help"],
            "pumas list": [*pumas, "list"],
            "pumas list --json": [*pumas, "list", "--json"],
            "pumas list --family SDXL": [*pumas, "list", "--family", "SDXL"],
        }
        for cmd in cases.values():  # warm the page cache and .pyc files
            _time(cmd, env, code)
        walls: dict[str, list[float]] = {k: [] for k in cases}
        cpus: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(runs):
            for name, cmd in cases.items():
                wall, cpu = _time(cmd, env, code)
                walls[name].append(wall)
                cpus[name].append(cpu)
    wall_med = {k: statistics.median(v) for k, v in walls.items()}
    floor = "python -c pass"

    def spread(samples: dict[str, list[float]]) -> dict[str, list[float]]:
        """Quartiles of each command's per-round ratio to the floor measured in the same round."""
        out = {}
        for k, v in samples.items():
            if k != floor:
                q = statistics.quantiles([x / f for x, f in zip(v, samples[floor], strict=True)], n=4)
                out[k] = [round(q[0], 2), round(q[2], 2)]
        return out

    cpu_med = {k: statistics.median(v) for k, v in cpus.items()}
    floor_wall, floor_cpu = wall_med["python -c pass"], cpu_med["python -c pass"]
    return {
        "models": n,
        "runs": runs,
        "median_wall_s": {k: round(v, 4) for k, v in wall_med.items()},
        "median_cpu_s": {k: round(v, 4) for k, v in cpu_med.items()},
        "wall_ratio_to_bare_python": {k: round(v / floor_wall, 2) for k, v in wall_med.items()
                                      if k != "python -c pass"},
        # CPU time is what the command costs; on a shared machine wall time also holds waiting.
        "cpu_ratio_to_bare_python": {k: round(v / floor_cpu, 2) for k, v in cpu_med.items()
                                     if k != "python -c pass"},
        "cpu_ratio_quartiles": spread(cpus),
        "wall_ratio_quartiles": spread(walls),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--code", type=Path, default=ROOT, help="time the commands of this pumas checkout")
    a = ap.parse_args()
    print(json.dumps(run(a.n, a.runs, a.code.resolve()), indent=1))


try:
    import pytest

    @pytest.mark.benchmark
    def test_cli_startup() -> None:
        r = run()
        print(json.dumps(r, indent=1))
        ratios = r["cpu_ratio_to_bare_python"]
        assert isinstance(ratios, dict)
        assert ratios["pumas --help"] <= 3.0 and ratios["pumas list"] <= 3.0, r
except ImportError:  # pragma: no cover
    pass

if __name__ == "__main__":
    main()
