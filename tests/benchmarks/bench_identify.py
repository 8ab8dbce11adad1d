"""Benchmark: identify 10,000 sparse files of mixed kinds, each format against its read floor and
against safetensors, measured in the same run.

Run:  .venv/bin/python tests/benchmarks/bench_identify.py [--n 10000] [--rounds 5] [--cpu]
 or:  .venv/bin/python -m pytest tests/benchmarks/bench_identify.py -m benchmark -s

Floors (what any identifier must at least do for a file of that format):
- safetensors: open, read the 8-byte length and the header, ``json.loads`` it;
- GGUF: open, read the header (key/values and tensor infos, up to the start of the tensor data)
  into a reused buffer;
- pickle (torch zip): open, read the ``data.pkl`` member's bytes (offset known in advance).

Goals (issue 16): safetensors identify <= 2x its floor; a GGUF or pickle file <= 2x a
safetensors file.  The machine is shared and noisy: every round times all six loops back to back
(interleaved), and the report gives each ratio's median and spread (min-max) over the rounds.
Page cache warm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pumasfs.identify import identify_path  # noqa: E402
from tests.corpus.samples import load_layouts, write_sample  # noqa: E402

KINDS = {"safetensors": "safetensors", "gguf": "gguf", "pickle-zip": "pickle"}


def build(dest: Path, n: int) -> list[tuple[str, Path]]:
    layouts = [l for l in load_layouts() if l["kind"] in KINDS]
    # write each layout once, then hard-link copies: n distinct paths, few inodes
    first: dict[str, Path] = {}
    for l in layouts:
        first[l["id"]] = write_sample(l, dest / "_src" / l["id"])
    out = []
    for i in range(n):
        l = layouts[i % len(layouts)]
        src = first[l["id"]]
        p = dest / f"{i:05d}_{src.name}"
        os.link(src, p)
        out.append((KINDS[l["kind"]], p))
    return out


def spans(files: list[tuple[str, Path]]) -> dict[Path, tuple[int, int]]:
    """(offset, length) of the bytes each GGUF / pickle floor reads, worked out once per inode."""
    import gguf

    seen: dict[int, tuple[int, int]] = {}
    out: dict[Path, tuple[int, int]] = {}
    for kind, p in files:
        if kind == "safetensors":
            continue
        ino = p.stat().st_ino
        if ino not in seen:
            if kind == "gguf":
                seen[ino] = (0, int(gguf.GGUFReader(p).data_offset))
            else:
                with zipfile.ZipFile(p) as z:
                    info = next(i for i in z.infolist() if i.filename.endswith("data.pkl"))
                    with open(p, "rb") as f:
                        f.seek(info.header_offset + 26)
                        nlen, xlen = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
                    seen[ino] = (info.header_offset + 30 + nlen + xlen, info.file_size)
        out[p] = seen[ino]
    return out


def floor_safetensors(paths: list[Path]) -> None:
    for p in paths:
        with open(p, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            json.loads(f.read(n))


def floor_read(paths: list[Path], where: dict[Path, tuple[int, int]]) -> None:
    buf = bytearray(max((n for _, n in where.values()), default=0))
    view = memoryview(buf)
    for p in paths:
        off, n = where[p]
        fd = os.open(p, os.O_RDONLY)
        try:
            os.preadv(fd, [view[:n]], off)
        finally:
            os.close(fd)


def ident(paths: list[Path]) -> None:
    for p in paths:
        identify_path(p)


def timed(clock: Callable[[], float], fn: Callable[[], None]) -> float:
    t0 = clock()
    fn()
    return clock() - t0


def run(n: int = 10_000, rounds: int = 5, dest: Path | None = None, cpu: bool = False) -> dict:
    """``cpu``: time with process CPU time instead of wall time (steadier on a shared machine)."""
    clock = time.process_time if cpu else time.perf_counter
    own = dest is None
    dest = Path(tempfile.mkdtemp(prefix="bench-identify-")) if own else dest
    try:
        files = build(dest, n)
        by = {k: [p for kk, p in files if kk == k] for k in KINDS.values()}
        where = spans(files)
        ident([p for _, p in files[:300]])  # warm imports and the page cache
        loops: dict[str, Callable[[], None]] = {
            "safetensors floor": lambda: floor_safetensors(by["safetensors"]),
            "safetensors identify": lambda: ident(by["safetensors"]),
            "gguf floor": lambda: floor_read(by["gguf"], where),
            "gguf identify": lambda: ident(by["gguf"]),
            "pickle floor": lambda: floor_read(by["pickle"], where),
            "pickle identify": lambda: ident(by["pickle"]),
        }
        per_file: dict[str, list[float]] = {k: [] for k in loops}
        for _ in range(rounds):
            for name, fn in loops.items():
                kind = name.split()[0]
                per_file[name].append(timed(clock, fn) / len(by[kind]) * 1e6)
        ratios: dict[str, list[float]] = {}
        for kind in KINDS.values():
            ratios[f"{kind} identify / its floor"] = [
                i / f for i, f in zip(per_file[f"{kind} identify"], per_file[f"{kind} floor"], strict=True)]
        for kind in ("gguf", "pickle"):
            ratios[f"{kind} identify / safetensors identify (per file)"] = [
                i / s for i, s in zip(per_file[f"{kind} identify"], per_file["safetensors identify"], strict=True)]
        summary = {
            "clock": "process CPU time" if cpu else "wall time", "rounds": rounds,
            "files": {k: len(v) for k, v in by.items()},
            "us_per_file_median": {k: round(statistics.median(v), 1) for k, v in per_file.items()},
            "ratio_median": {k: round(statistics.median(v), 2) for k, v in ratios.items()},
            "ratio_spread": {k: [round(min(v), 2), round(max(v), 2)] for k, v in ratios.items()},
        }
        return summary
    finally:
        if own:
            shutil.rmtree(dest, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cpu", action="store_true", help="time with process CPU time (shared, noisy machines)")
    a = ap.parse_args()
    r = run(a.n, a.rounds, cpu=a.cpu)
    print(json.dumps(r, indent=1))
    print(f"\n{'ratio':58} {'median':>7}  spread")
    for k, v in r["ratio_median"].items():
        lo, hi = r["ratio_spread"][k]
        print(f"{k:58} {v:7.2f}  {lo:.2f}-{hi:.2f}")


try:
    import pytest

    @pytest.mark.benchmark
    def test_identify_speed():
        r = run(10_000)
        print(json.dumps(r, indent=1))
        m = r["ratio_median"]
        assert m["safetensors identify / its floor"] <= 2.0, r
        assert m["gguf identify / safetensors identify (per file)"] <= 2.0, r
        assert m["pickle identify / safetensors identify (per file)"] <= 2.0, r
except ImportError:  # pragma: no cover
    pass

if __name__ == "__main__":
    main()
