"""Benchmark: identify 10,000 sparse files of mixed kinds vs the floor (read + json.loads the header).

Run:  .venv/bin/python tests/benchmarks/bench_identify.py [--n 10000] [--dir /tmp/x]
 or:  .venv/bin/python -m pytest tests/benchmarks/bench_identify.py -m benchmark -s

The floor is a bare loop that opens each safetensors file, reads the 8-byte length and the
header, and ``json.loads`` it: any identifier must at least do that. Goal: identify <= 2x the
floor per file on the same safetensors files. GGUF and pickle files are timed too (no floor).
Page cache warm; best of 3 runs (GGUF/pickle: one run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pumasfs.identify import identify_path  # noqa: E402
from tests.corpus.samples import load_layouts, write_sample  # noqa: E402


def build(dest: Path, n: int) -> list[tuple[str, Path]]:
    layouts = [l for l in load_layouts() if l["kind"] in ("safetensors", "gguf", "pickle-zip")]
    # write each layout once, then hard-link copies: 10,000 distinct paths, few inodes
    first: dict[str, Path] = {}
    for l in layouts:
        first[l["id"]] = write_sample(l, dest / "_src" / l["id"])
    out = []
    for i in range(n):
        l = layouts[i % len(layouts)]
        src = first[l["id"]]
        p = dest / f"{i:05d}_{src.name}"
        os.link(src, p)
        out.append((l["kind"], p))
    return out


def floor(paths: list[Path]) -> None:
    for p in paths:
        with open(p, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            json.loads(f.read(n))


def ident(paths: list[Path]) -> None:
    for p in paths:
        identify_path(p)


CLOCK = time.perf_counter


def best(fn, paths, runs=3) -> float:
    t = []
    for _ in range(runs):
        t0 = CLOCK()
        fn(paths)
        t.append(CLOCK() - t0)
    return min(t)


def run(n: int = 10_000, dest: Path | None = None, cpu: bool = False) -> dict:
    """``cpu``: time with process CPU time instead of wall time (steadier on a shared machine)."""
    global CLOCK
    CLOCK = time.process_time if cpu else time.perf_counter
    own = dest is None
    dest = Path(tempfile.mkdtemp(prefix="bench-identify-")) if own else dest
    try:
        files = build(dest, n)
        st = [p for k, p in files if k == "safetensors"]
        other = [p for k, p in files if k != "safetensors"]
        allp = [p for _, p in files]
        ident(allp[:200])  # warm imports and page cache
        floor(st)
        f = best(floor, st)
        i = best(ident, st)
        o = best(ident, other, runs=1) if other else 0.0
        a = i + o
        res = {
            "clock": "process CPU time" if cpu else "wall time", "files": len(allp), "safetensors_files": len(st), "other_files": len(other),
            "floor_us_per_file": f / len(st) * 1e6, "identify_us_per_safetensors_file": i / len(st) * 1e6,
            "ratio": i / f, "identify_us_per_gguf_or_pickle_file": (o / len(other) * 1e6) if other else None,
            "identify_all_s": a, "identify_us_per_file_all_kinds": a / len(allp) * 1e6,
        }
        return res
    finally:
        if own:
            shutil.rmtree(dest, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--cpu", action="store_true", help="time with process CPU time (shared, noisy machines)")
    a = ap.parse_args()
    r = run(a.n, cpu=a.cpu)
    print(json.dumps(r, indent=1))


try:
    import pytest

    @pytest.mark.benchmark
    def test_identify_speed():
        r = run(10_000)
        print(json.dumps(r, indent=1))
        assert r["ratio"] <= 2.0, r
except ImportError:  # pragma: no cover
    pass

if __name__ == "__main__":
    main()
