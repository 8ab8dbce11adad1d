"""Scale benchmark: every everyday command on a library of 100,000 models, each against its floor.

    python tests/benchmarks/bench_scale.py [--models 100000] [--loras 30000] [--dir /var/tmp] [--only doctor]

A user with 30,000 LoRAs is real; other tools' users report start-ups of many minutes at that size.
This builds a library of ``--models`` models (``--loras`` of them LoRAs, so that one app folder
holds that many entries), writing metadata.json files, tiny weight files and the index rows
directly (what an import would leave, without hashing gigabytes), then times each command
(median of ``--runs`` runs; the long ones once) in wall time and in CPU time (user + system):

============================  ==================================================================
pumas command                 floor measured in the same run
============================  ==================================================================
``list --limit 50``           a bare ``python3`` that opens models.db and prints the first 50 rows
``list --json`` (everything)  the same bare process dumping every stored metadata row as JSON
``list --search WORD``        the same bare process running the FTS query
``show MODEL``                the same bare process printing one metadata.json
``scan`` (index rebuild)      reading and ``json.loads`` of every metadata.json, in-process
``scan`` (nothing changed)    the same
``doctor`` (first, again)     ``lstat`` of every library file and app link, in-process, before each run
``materialize`` (full)        a bare ``os.symlink`` loop making the same links
``sync`` with nothing to do   a bare ``python3 -c pass``
``mount`` + ``ls -l loras/``  ``ls -l`` of the same folder materialized as symlinks
============================  ==================================================================

and the FUSE daemon's resident memory after listing the folder.  Goals (issue 16): ``list`` first
page and ``--search`` under 100 ms; everything else grows at most linearly, with the same ratio
to its floor as at 10,000 models (run with ``--models 10000 --loras 3000`` to compare).  Ratios
are of CPU time: on a shared machine wall time also holds the waits for other users' work.  The
last lines are the rows of README.md's Performance table, in its format.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pumasfs.base.paths import Layout  # noqa: E402
from pumasfs.store.index import record_row  # noqa: E402
from pumasfs.store.library import Library  # noqa: E402
from pumasfs.store.metadata import FileEntry, Hashes, ModelMetadata  # noqa: E402
from pumasfs.store.model_record import ModelRecord  # noqa: E402
from tests.benchmarks.benchdisk import warn_if_erratic  # noqa: E402
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


@dataclass
class Timing:
    """Median wall and CPU seconds of some runs, and the wall spread."""

    wall: float
    cpu: float
    low: float
    high: float
    runs: int


def timed(fn: Callable[[], object], runs: int = 3) -> Timing:
    """``fn`` ``runs`` times.  CPU is this process's plus its children's (user + system): a bare
    floor loop runs in-process, a pumas command in a child, and on a shared machine CPU time is
    the steadier figure (wall time also holds the waits for other users' work)."""
    walls, cpus = [], []
    for _ in range(runs):
        before = _cpu()
        t = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(_cpu() - before)
    return Timing(statistics.median(walls), statistics.median(cpus), min(walls), max(walls), runs)


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(*cmd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[:300]}")
    return p


def bare(code: str, db: Path, env: dict[str, str]) -> Callable[[], object]:
    return lambda: run(PY, "-c", code, str(db), env=env)


FIRST_PAGE = ("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
              "[print(r) for r in c.execute('SELECT model_id,subtype,size_bytes FROM models ORDER BY model_id LIMIT 50')]")
ALL_JSON = ("import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]);"
            "print(json.dumps([json.loads(r[0]) for r in c.execute('SELECT metadata FROM models ORDER BY model_id')]))")
SEARCH = ("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
          "[print(r) for r in c.execute(\"SELECT m.model_id FROM models_fts f JOIN models m ON m.id=f.rowid "
          "WHERE models_fts MATCH ?\", (sys.argv[2],))]")
SHOW = "import sys; print(open(sys.argv[1]).read())"

# What issue 16 asks of each row: an absolute time, or a ratio that stays as it is at 10,000.
GOALS = {"list first page": "< 100 ms", "list --search": "< 100 ms"}
LINEAR = "ratio as at 10,000"


def main(argv: list[str] | None = None) -> dict[str, tuple[Timing, Timing]]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=100_000)
    ap.add_argument("--loras", type=int, default=30_000)
    ap.add_argument("--runs", type=int, default=5, help="runs of each quick command (long ones run once)")
    ap.add_argument("--no-mount", action="store_true", help="skip the FUSE rows")
    ap.add_argument("--only", choices=["doctor", "materialize", "mount"], help="time only these rows (the library and the install "
                    "they need are still built, untimed)")
    ap.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/var/tmp"))
    args = ap.parse_args(argv)
    warn_if_erratic(Path(args.dir))
    work = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=args.dir))
    # A user's shell: modules compiled once and cached (PYTHONDONTWRITEBYTECODE would time the compiler).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", PUMAS_HOME=str(work / "lib"),
               PYTHONPYCACHEPREFIX=str(work / "pycache"))
    pumas = [PY, "-m", "pumasfs", "--root", str(work / "lib")]
    out: dict[str, tuple[Timing, Timing]] = {}
    quick = args.runs
    try:
        t = time.perf_counter()
        lib = build(work / "lib", args.models, args.loras)
        print(f"built {args.models} models ({args.loras} LoRAs) in {time.perf_counter() - t:.1f} s", flush=True)
        db = lib.layout.index_db
        lib.close()
        pick = args.loras // 2  # a LoRA in the middle of the library
        some = model(pick, args.loras)
        py_pass = timed(lambda: run(PY, "-c", "pass", env=env), quick)  # also compiles the caches once
        run(*pumas, "--help", env=env)

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

        every = args.only is None
        if every:
            floor_read = timed(read_all, 1)
            out["scan (rebuild)"] = (timed(scan, 1), floor_read)
            out["scan (nothing changed)"] = (timed(lambda: run(*pumas, "scan", env=env), 1), floor_read)
        else:
            scan()  # as the scan rows leave the index: rebuilt, no identity verdict yet

        # The app install first, so that `list` reads real links for its USED BY column.
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

        if args.only == "mount":
            symlink_loop()  # the floor's links tree
            mount_rows(out, work, pumas, env, loras_links, args.models)
            report(out, args.models, args.loras)
            return out
        if args.only == "materialize":
            materialize_rows(out, args.runs, work, targets, pumas, env)
            report(out, args.models, args.loras)
            return out
        if not every:
            run(*pumas, "materialize", "comfy", env=env)
            doctor_rows(out, args.runs, lib.layout.models_dir, comfy, db, pumas, env)
            report(out, args.models, args.loras)
            return out
        floor_mat = timed(symlink_loop, 1)
        out["materialize (full)"] = (timed(lambda: run(*pumas, "materialize", "comfy", env=env), 1), floor_mat)
        out["sync, nothing to do"] = (timed(lambda: run(*pumas, "sync", env=env), quick), py_pass)

        out["list first page"] = (timed(lambda: run(*pumas, "list", *LIMIT, env=env), quick),
                                  timed(bare(FIRST_PAGE, db, env), quick))
        out["list --search"] = (timed(lambda: run(*pumas, "list", "--search", f"trig{pick}", env=env), quick),
                                timed(lambda: run(PY, "-c", SEARCH, str(db), f'"trig{pick}"*', env=env), quick))
        out["list --json (all)"] = (timed(lambda: run(*pumas, "list", "--json", env=env), 1),
                                    timed(bare(ALL_JSON, db, env), 1))
        out["show"] = (timed(lambda: run(*pumas, "show", some.model_id, env=env), quick),
                       timed(lambda: run(PY, "-c", SHOW, str(lib.layout.models_dir / some.model_id / "metadata.json"),
                                         env=env), quick))

        doctor_rows(out, args.runs, lib.layout.models_dir, comfy, db, pumas, env)

        if not args.no_mount:
            mount_rows(out, work, pumas, env, loras_links, args.models)

        report(out, args.models, args.loras)
        return out
    finally:
        for mp in work.glob("view-*"):
            subprocess.run(["fusermount3", "-u", "-z", str(mp)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def doctor_rows(out: dict[str, tuple[Timing, Timing]], runs: int, models: Path, comfy: Path, db: Path,
                pumas: list[str], env: dict[str, str]) -> None:
    """``doctor`` as after a scan (no identity verdict cached: every header read) and again (all cached),
    each run right after its floor (``lstat`` of every library file and app link), ``runs`` times."""
    import sqlite3

    def lstat_all() -> None:
        for top in (models, comfy / "models"):
            for dirpath, _, files in os.walk(top):
                for f in files:
                    os.lstat(os.path.join(dirpath, f))

    def forget_identity() -> None:  # what a scan that rebuilds the index leaves: no verdict yet
        c = sqlite3.connect(db)
        with c:
            c.execute("UPDATE checked SET identity = NULL")
        c.close()

    doctor = lambda: run(*pumas, "doctor", env=env)  # noqa: E731
    rows: dict[str, list[tuple[Timing, Timing]]] = {"doctor (first)": [], "doctor (again)": []}
    for _ in range(runs):  # interleaved: a burst of other users' work hits both sides alike
        forget_identity()
        rows["doctor (first)"].append((timed(doctor, 1), timed(lstat_all, 1)))
        rows["doctor (again)"].append((timed(doctor, 1), timed(lstat_all, 1)))
    for what, pairs in rows.items():
        out[what] = (_merge([p[0] for p in pairs]), _merge([p[1] for p in pairs]))
        ratios = sorted(p[0].cpu / p[1].cpu for p in pairs)
        print(f"{what}: CPU ratio per run {', '.join(f'{r:.2f}x' for r in ratios)} "
              f"(median {statistics.median(ratios):.2f}x)", flush=True)


def materialize_rows(out: dict[str, tuple[Timing, Timing]], runs: int, work: Path, targets: list[tuple[str, str]],
                     pumas: list[str], env: dict[str, str]) -> None:
    """A full ``materialize`` into a new empty install, each run right after its floor (the same links
    made by a bare ``os.symlink`` loop into new folders), ``runs`` times."""
    pairs: list[tuple[Timing, Timing]] = []
    links = work / "links"
    for r in range(runs):
        comfy = make_comfyui(work / f"ComfyUI-{r}")
        run(*pumas, "app", "add", "comfyui", str(comfy), "--name", f"comfy-{r}", env=env)
        floor_dir = work / f"floor-{r}"
        for sub in ("loras", "checkpoints"):
            (floor_dir / sub).mkdir(parents=True)
        moved = [(src, str(floor_dir / os.path.relpath(dst, links))) for src, dst in targets]

        def loop(moved: list[tuple[str, str]] = moved) -> None:
            for src, dst in moved:
                os.symlink(src, dst)

        ours = lambda r=r: timed(lambda: run(*pumas, "materialize", f"comfy-{r}", env=env), 1)  # noqa: E731
        if r % 2:  # the first of a pair can find the disk busier (the other's writeback): take turns
            floor = timed(loop, 1)
            pairs.append((ours(), floor))
        else:
            pairs.append((ours(), timed(loop, 1)))
    out["materialize (full)"] = (_merge([p[0] for p in pairs]), _merge([p[1] for p in pairs]))
    ratios = sorted(p[0].cpu / p[1].cpu for p in pairs)
    print(f"materialize (full): CPU ratio per run {', '.join(f'{r:.2f}x' for r in ratios)} "
          f"(median {statistics.median(ratios):.2f}x)", flush=True)


def _merge(ts: list[Timing]) -> Timing:
    """One Timing of single runs: medians, and the spread of the walls."""
    walls = [t.wall for t in ts]
    return Timing(statistics.median(walls), statistics.median(t.cpu for t in ts), min(walls), max(walls), len(ts))


def mount_rows(out: dict[str, tuple[Timing, Timing]], work: Path, pumas: list[str], env: dict[str, str],
               loras_links: Path, models: int) -> None:
    ls_floor = timed(lambda: run("ls", "-l", str(loras_links)))
    for mode in ("preview", "content"):
        mp = work / f"view-{mode}"
        mp.mkdir()
        extra = ["--content"] if mode == "content" else []
        mounted = timed(lambda: run(*pumas, "mount", "comfy", str(mp), *extra, env=env), 1)  # noqa: B023
        try:
            cold = timed(lambda: run("ls", "-l", str(mp / "loras")), 1)  # noqa: B023
            warm = timed(lambda: run("ls", "-l", str(mp / "loras")))  # noqa: B023
            out[f"mount ({mode})"] = (mounted, timed(lambda: run(PY, "-c", "pass", env=env)))
            out[f"ls -l loras/ ({mode}, first)"] = (cold, ls_floor)
            out[f"ls -l loras/ ({mode}, again)"] = (warm, ls_floor)
            rss = daemon_rss(mp)
            if rss:
                print(f"FUSE daemon ({mode}) resident memory: {rss / 2**20:.0f} MiB "
                      f"({rss / models:.0f} bytes per model)")
        finally:
            subprocess.run([*pumas, "umount", str(mp)], env=env, capture_output=True)


def report(out: dict[str, tuple[Timing, Timing]], models: int, loras: int) -> None:
    """A plain table, then the same rows as Markdown for the README's Performance table (one per line)."""
    print(f"\n== {models} models, {loras} in loras/; medians (runs), wall spread; ratio of CPU time ==")
    print(f"{'what':28} {'pumas wall':>11} {'(spread)':>15} {'cpu':>8} {'floor cpu':>10} {'cpu ratio':>9} "
          f"{'wall ratio':>10}")
    for what, (ours, floor) in out.items():
        print(f"{what:28} {ours.wall * 1000:9.0f}ms {_spread(ours):>15} {ours.cpu * 1000:6.0f}ms "
              f"{floor.cpu * 1000:8.0f}ms {ours.cpu / floor.cpu:8.1f}x {ours.wall / floor.wall:9.1f}x")
    print("\n| command | models | pumas wall | pumas CPU | floor CPU | ratio | goal |")
    for what, (ours, floor) in out.items():
        print(f"| `{what}` | {models:,} | {_ms(ours.wall)} | {_ms(ours.cpu)} | {_ms(floor.cpu)} "
              f"| {ours.cpu / floor.cpu:.1f}x | {GOALS.get(what, LINEAR)} |")


def _ms(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 10 else f"{seconds * 1000:,.0f} ms"


def _spread(t: Timing) -> str:
    return f"{t.low * 1000:.0f}-{t.high * 1000:.0f}ms x{t.runs}" if t.runs > 1 else "x1"


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
    main(["--models", "5000", "--loras", "1500", "--runs", "3"])


if __name__ == "__main__":
    main()
