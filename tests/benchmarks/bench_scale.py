"""Scale benchmark: every everyday command on a library of 100,000 models, each against its floor.

    python tests/benchmarks/bench_scale.py [--models 100000] [--loras 30000] [--dir /var/tmp]

A user with 30,000 LoRAs is real; other tools' users report start-ups of many minutes at that size.
This builds a library of ``--models`` models (``--loras`` of them LoRAs, so that one app folder
holds that many entries), writing metadata.json files, tiny weight files and the index rows
directly (what an import would leave, without hashing gigabytes), then times, best of three:

============================  ==================================================================
pumas command                 floor measured in the same run
============================  ==================================================================
``list --limit 50``           a bare ``python3`` that opens models.db and prints the first 50 rows
``list --json`` (everything)  the same bare process dumping every stored metadata row as JSON
``list --search WORD``        the same bare process running the FTS query
``show MODEL``                the same bare process printing one metadata.json
``scan`` (index rebuild)      reading and ``json.loads`` of every metadata.json, in-process
``doctor``                    ``lstat`` of every library file and app link, in-process
``materialize`` (full)        a bare ``os.symlink`` loop making the same links
``sync`` with nothing to do   a bare ``python3 -c pass``
``mount`` + ``ls -l loras/``  ``ls -l`` of the same folder materialized as symlinks
============================  ==================================================================

and the FUSE daemon's resident memory after listing the folder.  Goals (issue 16): ``list`` first
page and ``--search`` under 100 ms; everything else grows at most linearly, with the same ratio
to its floor as at 10,000 models (run with ``--models 10000 --loras 3000`` to compare).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pumasfs.index import record_row  # noqa: E402
from pumasfs.library import Library  # noqa: E402
from pumasfs.metadata import FileEntry, Hashes, ModelMetadata  # noqa: E402
from pumasfs.model_record import ModelRecord  # noqa: E402
from pumasfs.paths import Layout  # noqa: E402
from tests.materializer.conftest import make_comfyui  # noqa: E402

PY = sys.executable
LIMIT = ["--limit", "50"]
FAMILIES = ("sd1", "sdxl", "flux", "pony")


def model(i: int, loras: int) -> ModelMetadata:
    lora = i < loras
    family = FAMILIES[i % len(FAMILIES)]
    name = f"{'lora' if lora else 'ckpt'}-{i:06d}"
    fname = f"{name}.safetensors"
    words = {"trigger_words": [f"trig{i}"]} if lora and "trigger_words" in ModelMetadata.model_fields else {}
    return ModelMetadata(
        model_id=f"diffusion/{family}/{name}", model_type="diffusion", family=family,
        subtype="loras" if lora else "checkpoints", official_name=name.replace("-", " ").title(),
        cleaned_name=name, tags=["bench", family, f"trig{i}"], hashes=Hashes(sha256=f"{i:064x}"), size_bytes=1,
        primary_file=fname, added_date="2026-01-01T00:00:00Z",
        files=[FileEntry(name=fname, original_name=fname, size=1, sha256=f"{i:064x}")], **words,
    )


def build(root: Path, n: int, loras: int) -> Library:
    """metadata.json + one 1-byte weight file per model, and the index rows in one transaction."""
    layout = Layout(root).ensure()
    lib = Library(layout)
    rows = []
    for i in range(n):
        meta = model(i, loras)
        d = layout.models_dir / meta.model_id
        d.mkdir(parents=True)
        (d / "metadata.json").write_text(meta.model_dump_json(indent=2))
        (d / meta.primary_file).write_bytes(b"w")
        (d / meta.primary_file).chmod(0o444)  # as an import leaves weights: read-only (doctor checks)
        rec = ModelRecord(meta=meta)
        rows.append((rec, record_row(rec)))
    with lib.index.transaction():
        lib.index.upsert_many(rows)
    return lib


def timed(fn: Callable[[], object], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(*cmd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[:300]}")
    return p


def bare(code: str, db: Path) -> Callable[[], object]:
    return lambda: run(PY, "-c", code, str(db))


FIRST_PAGE = ("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
              "[print(r) for r in c.execute('SELECT model_id,subtype,size_bytes FROM models ORDER BY model_id LIMIT 50')]")
ALL_JSON = ("import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]);"
            "print(json.dumps([json.loads(r[0]) for r in c.execute('SELECT metadata FROM models ORDER BY model_id')]))")
SEARCH = ("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
          "[print(r) for r in c.execute(\"SELECT m.model_id FROM models_fts f JOIN models m ON m.id=f.rowid "
          "WHERE models_fts MATCH ?\", (sys.argv[2],))]")
SHOW = "import sys; print(open(sys.argv[1]).read())"


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float]]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=100_000)
    ap.add_argument("--loras", type=int, default=30_000)
    ap.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/var/tmp"))
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=args.dir))
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "PUMAS_HOME": str(work / "lib")}
    pumas = [PY, "-m", "pumasfs", "--root", str(work / "lib")]
    out: dict[str, tuple[float, float]] = {}
    try:
        t = time.perf_counter()
        lib = build(work / "lib", args.models, args.loras)
        print(f"built {args.models} models ({args.loras} LoRAs) in {time.perf_counter() - t:.1f} s", flush=True)
        db = lib.layout.index_db
        lib.close()
        pick = args.loras // 2  # a LoRA in the middle of the library
        some = model(pick, args.loras)

        out["list first page"] = (timed(lambda: run(*pumas, "list", *LIMIT, env=env)),
                                  timed(bare(FIRST_PAGE, db)))
        out["list --json (all)"] = (timed(lambda: run(*pumas, "list", "--json", env=env), 1),
                                    timed(bare(ALL_JSON, db), 1))
        out["list --search"] = (timed(lambda: run(*pumas, "list", "--search", f"trig{pick}", env=env)),
                                timed(lambda: run(PY, "-c", SEARCH, str(db), f'"trig{pick}"*')))
        out["show"] = (timed(lambda: run(*pumas, "show", some.model_id, env=env)),
                       timed(lambda: run(PY, "-c", SHOW, str(lib.layout.models_dir / some.model_id / "metadata.json"))))

        def read_all() -> None:
            for dirpath, _, files in os.walk(lib.layout.models_dir):
                if "metadata.json" in files:
                    with open(os.path.join(dirpath, "metadata.json"), "rb") as f:
                        json.loads(f.read())

        def scan() -> None:
            for suffix in ("", "-wal", "-shm"):
                q = db.with_name("models.db" + suffix)
                if q.exists():
                    q.unlink()
            run(*pumas, "scan", env=env)

        out["scan (rebuild)"] = (timed(scan, 1), timed(read_all, 1))

        comfy = make_comfyui(work / "ComfyUI")
        run(*pumas, "app", "add", "comfyui", str(comfy), "--name", "comfy", env=env)
        loras_links = work / "links" / "loras"
        loras_links.mkdir(parents=True)
        targets = []
        for i in range(args.models):
            m = model(i, args.loras)
            folder = "loras" if m.subtype == "loras" else "checkpoints"
            targets.append((str(lib.layout.models_dir / m.model_id / m.primary_file),
                            str(work / "links" / folder / m.primary_file)))
        (work / "links" / "checkpoints").mkdir()

        def symlink_loop() -> None:
            for src, dst in targets:
                os.symlink(src, dst)

        floor_mat = timed(symlink_loop, 1)
        out["materialize (full)"] = (timed(lambda: run(*pumas, "materialize", "comfy", env=env), 1), floor_mat)
        out["sync, nothing to do"] = (timed(lambda: run(*pumas, "sync", env=env)),
                                      timed(lambda: run(PY, "-c", "pass")))

        def lstat_all() -> None:
            for dirpath, _, files in os.walk(lib.layout.models_dir):
                for f in files:
                    os.lstat(os.path.join(dirpath, f))
            for dirpath, _, files in os.walk(comfy / "models"):
                for f in files:
                    os.lstat(os.path.join(dirpath, f))

        out["doctor"] = (timed(lambda: run(*pumas, "doctor", env=env), 1), timed(lstat_all, 1))

        ls_floor = timed(lambda: run("ls", "-l", str(loras_links)))
        for mode in ("preview", "content"):
            mp = work / f"view-{mode}"
            mp.mkdir()
            extra = ["--content"] if mode == "content" else []
            t0 = time.perf_counter()
            run(*pumas, "mount", "comfy", str(mp), *extra, env=env)
            mount_s = time.perf_counter() - t0
            try:
                cold = timed(lambda: run("ls", "-l", str(mp / "loras")), 1)
                warm = timed(lambda: run("ls", "-l", str(mp / "loras")))
                out[f"mount ({mode})"] = (mount_s, timed(lambda: run(PY, "-c", "pass")))
                out[f"ls -l loras/ ({mode}, first)"] = (cold, ls_floor)
                out[f"ls -l loras/ ({mode}, again)"] = (warm, ls_floor)
                rss = daemon_rss(mp)
                if rss:
                    print(f"FUSE daemon ({mode}) resident memory: {rss / 2**20:.0f} MiB "
                          f"({rss / args.models:.0f} bytes per model)")
            finally:
                subprocess.run([*pumas, "umount", str(mp)], env=env, capture_output=True)

        print(f"\n== {args.models} models, {args.loras} in loras/; best of 3 unless one run is long ==")
        print(f"{'what':32} {'pumas':>10} {'floor':>10} {'ratio':>8}")
        for what, (ours, floor) in out.items():
            print(f"{what:32} {ours * 1000:8.0f}ms {floor * 1000:8.0f}ms {ours / floor:7.1f}x")
        return out
    finally:
        for mp in work.glob("view-*"):
            subprocess.run(["fusermount3", "-u", "-z", str(mp)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def daemon_rss(mountpoint: Path) -> int | None:
    """Resident bytes of the process serving ``mountpoint`` (found by its command line)."""
    import psutil

    for p in psutil.process_iter(["cmdline", "memory_info"]):
        cmd = p.info.get("cmdline") or []
        if str(mountpoint) in cmd and "pumasfs" in " ".join(cmd) and p.info.get("memory_info"):
            return int(p.info["memory_info"].rss)
    return None


def test_bench_scale() -> None:
    """pytest entry (not in the normal run): a small library that still prints every ratio."""
    main(["--models", "5000", "--loras", "1500"])


if __name__ == "__main__":
    main()
