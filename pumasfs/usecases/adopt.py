"""``pumas adopt``: the models already in apps' folders come into the library; their paths stay.

The order that keeps every byte safe, per model:

1. hash every file of every place it was found (the only full read);
2. the bytes of the first place go into a staging folder by hardlink (one
   filesystem: no byte copied) or by a verified copy (across filesystems);
3. the model is committed with a pin for every place it was found
   (metadata.json, fsynced, then one rename): from here the library holds a
   durable copy, and the pins say where links belong;
4. each original is replaced by a link to the library copy by one rename over
   it, and only if it is still the file that was hashed;
5. the registry learns the links (the materializer's own apply, which
   recognises links already on disk as its own).

Models whose weights are all small (LoRAs, sidecars) go through 1-5 while
the big files are still being read on a thread of their own: the per-model
cost (folders, metadata, renames, links) hides behind the big reads.  Same
bytes means same sizes, so two places of one model are never split between
the two parts.  Filesystem syncs are per batch (``adopt.commit``), not per
model, and the batch's intent is the library's own journal.

A process killed anywhere leaves every original path resolving to the same
bytes: before 3 nothing visible changed (staging is swept, and it only ever
holds a second name of a user's file or a copy); after 3 an original is
either itself or a link to identical bytes.  The next ``pumas adopt`` (or
``pumas doctor --fix``, through :func:`finish_pending`) completes the swaps
and the registry.
"""

from __future__ import annotations

import errno
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pumasfs.adopt.commit import commit_batch, syncfs
from pumasfs.adopt.companions import read_descriptions
from pumasfs.adopt.conflicts import PredictedConflict, compare_plans
from pumasfs.adopt.planning import AdoptPlan, AppCounts, Hashed, ModelGroup, plan_adoption
from pumasfs.adopt.scan import Candidate, LeftAlone, ScanResult, scan_install
from pumasfs.adopt.swap import Changed, probe_folder, stamp_of, swap_in_link
from pumasfs.base import hashing, locks
from pumasfs.base.errors import NotFound, PumasError, os_error_text
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.base.testhooks import kill_point
from pumasfs.importing.importer import COMMIT_LOCK, ImportOptions, destination_names, draft_metadata
from pumasfs.planning.installs import AppInstall, get_app, load_apps
from pumasfs.planning.map_schema import TranslationMap
from pumasfs.planning.map_selection import plan_root, select_map
from pumasfs.store import staging
from pumasfs.store.library import Library
from pumasfs.store.metadata import FileEntry, Hashes, ModelMetadata, Pin
from pumasfs.store.naming import text_of
from pumasfs.usecases.after_change import CatchUp, catch_up_apps, lookup_after_import
from pumasfs.usecases.workspace import Workspace

if TYPE_CHECKING:
    from pumasfs.hub.enrich import EnrichSummary

ADOPT_LOCK = "adopt.lock"


@dataclass
class Placed:
    app: str
    path: str
    model_id: str
    status: str  # adopted | duplicate | failed


@dataclass
class AdoptResult:
    plan: AdoptPlan
    dry_run: bool
    placed: list[Placed] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    workflows_before: dict[str, list[Any]] = field(default_factory=dict)
    workflows_after: dict[str, list[Any]] = field(default_factory=dict)
    predicted: list[PredictedConflict] = field(default_factory=list)  # a dry run's conflicts, as data
    lookup: EnrichSummary | None = None  # the bounded hub lookup after committing (None: none ran)
    apps: CatchUp | None = None  # the apps' catch-up, when the lookup renamed a model

    @property
    def adopted(self) -> list[str]:
        """Models this run brought into the library (not the places added to models already there)."""
        return list(dict.fromkeys(p.model_id for p in self.placed if p.status == "adopted"))

    def to_json(self) -> dict[str, Any]:
        out = self.plan.to_json()
        out.update({
            "dry_run": self.dry_run,
            "placed": [vars(p) for p in self.placed],
            "failures": self.failures,
            "conflicts": self.conflicts,
            "conflict_details": [c.to_json() for c in self.predicted],
            "notes": self.notes,
            "workflows": {
                app: {"unresolved_before": [r.to_json() for r in self.workflows_before.get(app, [])],
                      "unresolved_after": [r.to_json() for r in self.workflows_after.get(app, [])]}
                for app in sorted(set(self.workflows_before) | set(self.workflows_after))
            },
            "lookup": self.lookup.to_json() if self.lookup is not None else None,
        })
        return out


@dataclass
class _Install:
    app: AppInstall
    tmap: TranslationMap
    base: Path
    scan: ScanResult


# -- the use case ----------------------------------------------------------------


def adopt(
    ws: Workspace,
    apps: list[str] | None = None,
    *,
    dry_run: bool = False,
    from_dir: Path | None = None,
    lookup: bool = True,
    lookup_deadline_s: float = 3.0,
    reporter: Reporter = NULL_REPORTER,
) -> AdoptResult:
    """Adopt the model files of the named installs (every registered one by default).

    New models then get the same bounded hub + CivitAI lookup an import gets,
    after the adoption lock is released: it never delays the adoption beyond
    ``lookup_deadline_s``, and what it could not finish stays pending for
    ``pumas enrich --pending``.
    """
    layout = ws.layout
    installs = _installs(ws, apps, from_dir)
    lib = ws.library
    models_real = os.path.realpath(layout.models_dir)
    with locks.exclusive(layout.run_dir / ADOPT_LOCK):
        if not dry_run:
            staging.sweep(layout)  # staging only ever holds second names or copies: never the only copy
            _ = lib.index  # opening it finishes killed commits (a batch's models renamed in, not indexed)
            finished = finish_pending(ws, fix=True, apps={a.name for a, _ in installs})
        scanned = [
            _Install(app, tmap, plan_root(app, tmap),
                     scan_install(app, tmap, models_real, root=from_dir if from_dir is not None else None))
            for app, tmap in installs
        ]
        _drop_registered(ws, scanned)
        from pumasfs.adopt.workflows import unresolved_references

        notes = [n for s in scanned for n in s.scan.notes]
        left: list[LeftAlone] = [x for s in scanned for x in s.scan.left]
        managed = {s.app.name: s.scan.managed for s in scanned}
        by_app = {s.app.name: s for s in scanned}
        workflows_before = {s.app.name: unresolved_references(s.app) for s in scanned if s.app.kind == "comfyui"}
        cands = [c for s in scanned for c in s.scan.candidates]
        sizes = {f.source: _size(f.source) for c in cands for f in c.unit.files}  # one stat per file
        small, big = _split_by_size(cands, sizes)
        reporter.start("reading", sum(sizes.values()))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="adopt-hash") as pool:
            # The big files stream through the hashers on their own thread while the small ones are
            # hashed, committed and swapped here: the per-model cost hides behind the big reads.
            # Same bytes means same sizes, so no model is split between the two parts.
            left_big: list[LeftAlone] = []
            big_future = pool.submit(_hash_all, big, left_big, reporter)
            hashed_small = _screen(_hash_all(small, left, reporter), left)
            in_library = _in_library(lib, hashed_small)
            result = AdoptResult(plan=AdoptPlan(), dry_run=dry_run, notes=notes, workflows_before=workflows_before)
            if not dry_run:
                result.notes += [f"{p.app}: {p.path}: finished a swap an earlier run left undone"
                                 for p in finished if p.state == "finished"]
                first = plan_adoption(hashed_small, in_library, [], {})
                if not big:  # (else the bar keeps showing the big reads until they are done)
                    reporter.start("adopting", len(first.groups), unit="models")
                _execute(lib, first, by_app, result, NULL_REPORTER if big else reporter)
            hashed_big = big_future.result()
        left += left_big
        hashed_big = _screen(hashed_big, left)
        in_library.update(_in_library(lib, hashed_big))  # (after the small ones are committed)
        result.plan = plan_adoption(hashed_small + hashed_big, in_library, left, managed)
        if dry_run:
            result.predicted = _predict_conflicts(ws, result.plan)
            result.conflicts = [c.line() for c in result.predicted]
            for c in result.predicted:
                result.plan.counts.setdefault(c.app, AppCounts()).conflicts += 1
            return result
        if big:
            second = plan_adoption(hashed_big, in_library, [], {})
            reporter.start("adopting", len(second.groups), unit="models")
            _execute(lib, second, by_app, result, reporter)
        syncfs(lib.layout.models_dir)  # the last swaps, durable (until then each original simply stays)
        for s in scanned:
            _register(ws, s, result)
        for s in scanned:
            if s.app.kind == "comfyui":
                after = result.workflows_after[s.app.name] = unresolved_references(s.app)
                broke = [r for r in after if r not in set(result.workflows_before.get(s.app.name, []))]
                # Never expected (paths do not change), but said loudly if it ever happens.
                result.failures += [f"{s.app.name}: {r.workflow}: node {r.node}: {r.key}/{r.name} resolved before "
                                    "adoption and does not now" for r in broke]
    if lookup and result.adopted:
        result.lookup = lookup_after_import(ws, result.adopted, deadline_s=lookup_deadline_s)
        if result.lookup.renamed:
            # The hub named a model's type: its folder moved, and the pinned links must follow.
            result.apps = catch_up_apps(ws, reporter)
    return result


def _drop_registered(ws: Workspace, scanned: list[_Install]) -> None:
    """Hardlinks pumas made (NTFS installs) look like real files: the registry knows them."""
    if not ws.layout.registry_db.exists():
        return
    from materializer.links import on_disk_matches
    from materializer.registry import Registry

    reg = Registry(ws.layout.registry_db)
    try:
        for s in scanned:
            rows = reg.links_of_app(s.app.name)
            if not rows:
                continue
            keep = []
            for c in s.scan.candidates:
                spec = rows.get(c.rels[c.unit.primary]) if c.unit.primary in c.rels else None
                if spec is not None and on_disk_matches(spec, str(c.unit.primary_source)):
                    s.scan.managed += 1
                else:
                    keep.append(c)
            s.scan.candidates = keep
    finally:
        reg.close()


def _installs(ws: Workspace, apps: list[str] | None, from_dir: Path | None) -> list[tuple[AppInstall, TranslationMap]]:
    layout = ws.layout
    if apps:
        chosen = [get_app(layout, a) for a in dict.fromkeys(apps)]
    else:
        chosen = list(load_apps(layout).apps)
        if not chosen:
            raise NotFound("no app installs registered (add one with `pumas app add KIND PATH`)")
    out = [(a, select_map(layout, a).map) for a in chosen]
    if from_dir is not None:
        if len(out) != 1:
            raise PumasError("--from DIR needs exactly one install: --as APP")
        app, tmap = out[0]
        base = os.path.realpath(plan_root(app, tmap))
        real = os.path.realpath(from_dir)
        if not os.path.isdir(real):
            raise NotFound(f"{from_dir}: no such folder")
        if real != base and not real.startswith(base + os.sep):
            raise PumasError(f"{from_dir} is not inside {base}, the folder pumas links into for {app.name}")
    return out


def _split_by_size(cands: list[Candidate], sizes: dict[Path, int]) -> tuple[list[Candidate], list[Candidate]]:
    """(models whose weights are all small, the others); two places with the same bytes land on one side."""
    small: list[Candidate] = []
    big: list[Candidate] = []
    for c in cands:
        weights = [f.source for f in c.unit.files if f.role == "weights"] or [c.unit.primary_source]
        (big if any(sizes.get(p, 0) > SMALL for p in weights) else small).append(c)
    return small, big


def _screen(hashed: list[Hashed], left: list[LeftAlone]) -> list[Hashed]:
    """Unsafe pickles and files still being written stay where they are, listed."""
    return _drop_in_use(_drop_unsafe(hashed, left), left)


def _hash_all(cands: list[Candidate], left: list[LeftAlone], reporter: Reporter) -> list[Hashed]:
    out: list[Hashed] = []
    for c in cands:
        digests: dict[str, tuple[int, str, str]] = {}
        stamps: dict[str, hashing.SourceStamp] = {}
        try:
            for f in c.unit.files:
                reporter.item(str(f.source))
                d, st = _hash(f.source, reporter)
                digests[f.rel] = (d.size, d.sha256, d.blake3)
                stamps[f.rel] = st
        except PumasError as e:
            left.append(LeftAlone(c.app, str(c.unit.primary_source), "error", e.message))
            continue
        out.append(Hashed(c, digests, stamps))
    return out


SMALL = 4 * 1024 * 1024  # below this, one read and both hashes inline: no pipeline threads to start


def _hash(path: Path, reporter: Reporter) -> tuple[hashing.Digest, hashing.SourceStamp]:
    """Both hashes from one read; small files (sidecars, LoRAs) without the threaded pipeline."""
    import hashlib

    import blake3

    try:
        st = os.lstat(path)
    except OSError as e:
        raise PumasError(f"{path}: cannot read: {os_error_text(e)}") from None
    if st.st_size > SMALL:
        return hashing.hash_file(path, progress=reporter.advance)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as e:
        raise PumasError(f"{path}: cannot read: {os_error_text(e)}") from None
    try:
        before = hashing.SourceStamp.of(os.fstat(fd))
        chunks = []
        while data := os.read(fd, SMALL + 1):
            chunks.append(data)
        after = hashing.SourceStamp.of(os.fstat(fd))
    except OSError as e:
        raise PumasError(f"{path}: cannot read: {os_error_text(e)}") from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) != before.size or after != before:
        raise PumasError(f"{path}: changed while it was being read; left as it is")
    reporter.advance(len(raw))
    return hashing.Digest(len(raw), hashlib.sha256(raw).hexdigest(), blake3.blake3(raw).hexdigest()), before


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _identify(c: Candidate) -> Any:
    from pumasfs.importing.importer import _identify_unit

    try:
        return _identify_unit(c.unit)
    except PumasError:
        return None


def _drop_unsafe(hashed: list[Hashed], left: list[LeftAlone]) -> list[Hashed]:
    """Identify once per content; a pickle that would run code stays where it is, listed."""
    verdict: dict[tuple[str, ...], Any] = {}
    out = []
    for h in hashed:
        key = h.weights_key()
        if key not in verdict:
            verdict[key] = _identify(h.cand)
        ident = verdict[key]
        unsafe = list(getattr(ident, "unsafe_globals", None) or [])
        if unsafe:
            left.append(LeftAlone(h.app, str(h.cand.unit.primary_source), "unsafe-pickle",
                                  f"this pickle would run code on load ({', '.join(unsafe[:3])}); left in place"))
            continue
        h.ident = ident
        out.append(h)
    return out


def _drop_in_use(hashed: list[Hashed], left: list[LeftAlone]) -> list[Hashed]:
    """A file some process is still writing (a download) is not adopted this time."""
    from pumasfs.adopt.inuse import open_for_writing

    busy = open_for_writing()
    if not busy:
        return hashed
    out = []
    for h in hashed:
        held = [rel for rel, st in h.stamps.items() if (st.dev, st.ino) in busy]
        if held:
            left.append(LeftAlone(h.app, str(h.cand.unit.primary_source), "in-use",
                                  f"{held[0]} is open for writing by another process; left in place "
                                  "(run `pumas adopt` again when it is done)"))
        else:
            out.append(h)
    return out


def _in_library(lib: Library, hashed: list[Hashed]) -> dict[tuple[str, ...], str]:
    out: dict[tuple[str, ...], str] = {}
    for h in hashed:
        key = h.weights_key()
        if key in out or not key:
            continue
        mid = _library_model_with(lib, key)
        if mid is not None:
            out[key] = mid
    return out


def _library_model_with(lib: Library, key: tuple[str, ...]) -> str | None:
    for mid, _name in lib.index.find_sha256(key[0]):
        rec = lib.index.get(mid)
        if rec is None:
            continue
        weights = tuple(sorted(f.sha256 or "" for f in rec.meta.files if f.role == "weights"))
        if weights == key:
            return mid
    return None


# -- what the dry run predicts ---------------------------------------------------------


def _predict_conflicts(ws: Workspace, plan: AdoptPlan) -> list[PredictedConflict]:
    """Plan every install with the library as it is and as adoption would leave it; the differences.

    The models adoption would create are drafted (no byte moves) with their
    pins; models already holding the bytes get the new pins.  Then the
    placement rules settle every clash (``adopt.conflicts``), and each new
    placement is looked at on disk (one ``lstat``) for things pumas does not own.
    """
    from pumasfs.planning.planner import build_plan
    from pumasfs.store.model_record import ModelRecord

    lib = ws.library
    records = {r.model_id: r for r in lib.index.records()}
    after = dict(records)
    touched: set[str] = set()
    names: dict[str, str] = {}
    adopted: dict[str, set[str]] = {}
    out: list[PredictedConflict] = []
    pinned_at = {(p.app, p.path): mid for mid, r in records.items() for p in r.meta.pins}
    for g in plan.groups:
        for h in g.instances:
            adopted.setdefault(h.app, set()).update(h.cand.rels.values())
        rec = records.get(g.existing) if g.existing is not None else None
        if rec is not None:
            meta = rec.meta.model_copy(deep=True)
            by_sha = {f.sha256: f.name for f in meta.files if f.sha256}
            files = list(meta.files)
            for h in g.instances:
                pin = _pin_files(h, _dup_names(h, by_sha, files, None))
                meta.pins = [p for p in meta.pins if (p.app, p.path) != (pin.app, pin.path)] + [pin]
            meta.files = files
            after[rec.model_id] = ModelRecord(meta=meta, overrides=rec.overrides, overrides_error=rec.overrides_error)
        else:
            try:
                meta = _stage(None, g.instances)
            except PumasError:
                continue
            if meta.model_id in after:
                meta.model_id += f"-{(meta.hashes.sha256 or '')[:8]}"
            after[meta.model_id] = ModelRecord(meta=meta)
            first = g.instances[0]
            names[meta.model_id] = f"the model adopted from {first.app}:{first.cand.main_rel}"
        mid = meta.model_id
        touched.add(mid)
        for h in g.instances:
            old = pinned_at.get((h.app, h.cand.main_rel))
            if old is None or old == mid or old not in after:
                continue
            out.append(PredictedConflict(h.app, h.cand.main_rel, "pin-moves",
                                         f"pinned for {old}, but it holds other bytes now: they become "
                                         f"{names.get(mid, mid)} and the pin moves to it ({old} stays in the library)"))
            stale = after[old].meta.model_copy(deep=True)
            stale.pins = [p for p in stale.pins if (p.app, p.path) != (h.app, h.cand.main_rel)]
            after[old] = ModelRecord(meta=stale, overrides=after[old].overrides,
                                     overrides_error=after[old].overrides_error)
    if not touched:
        return out
    models_real = os.path.realpath(ws.layout.models_dir)
    for app in load_apps(ws.layout).apps:
        try:
            tmap = select_map(ws.layout, app).map
        except PumasError:
            continue
        base = plan_root(app, tmap)
        found, fresh = compare_plans(app.name, build_plan(records.values(), tmap, app),
                                     build_plan(after.values(), tmap, app), touched, names)
        out += found
        for p in fresh:
            if p in adopted.get(app.name, ()):
                continue
            what = _foreign_thing(str(base / p), models_real)
            if what:
                out.append(PredictedConflict(app.name, p, "occupied",
                                             f"a model would be placed here, but {what} that pumas does not own is "
                                             f"there; it stays, and `pumas materialize {app.name}` reports it"))
    return out


def _foreign_thing(path: str, models_real: str) -> str | None:
    """What sits at ``path`` that is not a link into the library (None: nothing, or ours)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode):
        target = os.path.realpath(path)
        if target == models_real or target.startswith(models_real + os.sep):
            return None
        return "a link"
    return "a folder" if stat.S_ISDIR(st.st_mode) else "a file"


# -- one batch of models --------------------------------------------------------------

BATCH = 2048  # models committed per filesystem sync (three syncs per batch)


def _execute(lib: Library, plan: AdoptPlan, installs: dict[str, _Install], result: AdoptResult,
             reporter: Reporter) -> None:
    probed: dict[str, str | None] = {}
    pinned_at = {(p.app, p.path): r.model_id for r in lib.index.records() for p in r.meta.pins}
    groups = plan.groups
    for i in range(0, len(groups), BATCH):
        start = len(result.placed)
        _run_batch(lib, groups[i:i + BATCH], installs, result, probed)
        _drop_stale_pins(lib, result.placed[start:], pinned_at)
        reporter.advance(len(groups[i:i + BATCH]))


def _drop_stale_pins(lib: Library, placed: list[Placed], pinned_at: dict[tuple[str, str], str]) -> None:
    """A place a user filled with a new file (other bytes) now belongs to the new model, not the old one."""
    stale: dict[str, set[tuple[str, str]]] = {}
    for p in placed:
        old = pinned_at.get((p.app, p.path))
        if p.status != "failed" and old is not None and old != p.model_id:
            stale.setdefault(old, set()).add((p.app, p.path))
    for mid, places in stale.items():
        try:
            meta = lib.get(mid)
        except PumasError:
            continue
        meta.pins = [q for q in meta.pins if (q.app, q.path) not in places]
        lib.save(meta)


def _probe(folder: str, probed: dict[str, str | None]) -> str | None:
    if folder not in probed:
        try:
            probe_folder(folder)
            probed[folder] = None
        except PumasError as e:
            probed[folder] = e.message
    return probed[folder]


def _run_batch(lib: Library, groups: list[ModelGroup], installs: dict[str, _Install], result: AdoptResult,
               probed: dict[str, str | None]) -> None:
    ready: list[tuple[ModelGroup, list[Hashed]]] = []
    for g in groups:
        ok = []
        for h in g.instances:
            folders = sorted({os.path.dirname(str(f.source)) for f in h.cand.unit.files})
            err = next((e for e in (_probe(f, probed) for f in folders) if e), None)
            if err:
                _fail(result, h, err)
            else:
                ok.append(h)
        if ok:
            ready.append((g, ok))
    done: list[tuple[str, bool, list[Hashed], ModelMetadata | None]] = []  # (model id, created now, places, meta)
    existing = [(g.existing, hs) for g, hs in ready if g.existing is not None]
    new = [hs for g, hs in ready if g.existing is None]
    if new:
        with staging.StagingDir(lib.layout) as stage:
            staged: list[tuple[list[Hashed], Path, ModelMetadata]] = []
            for j, hs in enumerate(new):
                content = stage.path / f"m{j}"
                content.mkdir()
                try:
                    staged.append((hs, content, _stage(content, hs)))
                except PumasError as e:
                    for h in hs:
                        _fail(result, h, e.message)
            kill_point("staged")
            with locks.exclusive(lib.layout.run_dir / COMMIT_LOCK):
                fresh = []
                for hs, content, meta in staged:
                    # Another process may have brought the same bytes in meanwhile: one copy of every byte.
                    mid = _library_model_with(lib, hs[0].weights_key())
                    if mid is not None:
                        existing.append((mid, hs))
                    else:
                        fresh.append((hs, content, meta))
                metas = commit_batch(lib, [(c, m) for _, c, m in fresh])
            for (hs, _c, _m), committed in zip(fresh, metas, strict=True):
                if committed is None:
                    for h in hs:
                        _fail(result, h, f"{h.cand.unit.primary_source}: no free folder name in the library")
                else:
                    done.append((committed.model_id, True, hs, committed))
        kill_point("committed")
    for mid, hs in existing:
        try:
            _add_places(lib, mid, hs)
        except PumasError as e:
            for h in hs:
                _fail(result, h, e.message)
            continue
        done.append((mid, False, hs, None))
    for mid, created, hs, known in done:
        _swap_all(lib, mid, created, hs, installs, result, known)
    # The swaps become durable with the next batch's first sync or the run's last one: until then a
    # power cut simply leaves an original where it was.


def _swap_all(lib: Library, mid: str, created: bool, hs: list[Hashed], installs: dict[str, _Install],
              result: AdoptResult, known: ModelMetadata | None = None) -> None:
    meta = known if known is not None else lib.get(mid)
    failed: list[Pin] = []
    for i, h in enumerate(hs):
        pin = next((p for p in meta.pins if p.app == h.app and p.path == h.cand.main_rel), None)
        if pin is None:
            _fail(result, h, f"{mid}: its pin for {h.app}:{h.cand.main_rel} is missing")
            continue
        try:
            _swap_place(lib, installs[h.app], h, pin, mid)
        except PumasError as e:
            _fail(result, h, e.message)
            failed.append(pin)
            continue
        result.placed.append(Placed(h.app, h.cand.main_rel, mid, "adopted" if created and i == 0 else "duplicate"))
    if failed:
        meta = lib.get(mid)
        meta.pins = [p for p in meta.pins if p not in failed]
        if created and not meta.pins:
            # Nothing points at it and its bytes are still at their original path: take it out again.
            lib.remove(mid)
        else:
            lib.save(meta)


def _fail(result: AdoptResult, h: Hashed, message: str) -> None:
    result.failures.append(message)
    result.placed.append(Placed(h.app, h.cand.main_rel, "", "failed"))


def _bring(src: Path, dest: Path, stamp: hashing.SourceStamp, sha256: str) -> None:
    """Put ``src``'s bytes at ``dest``: a second name on one filesystem, a verified copy across.

    ``stamp`` is ``src`` as it was hashed: its device says whether a link can
    do (one ``stat`` of the destination folder), and the link's own stamp
    proves it names the very file that was hashed.
    """
    try:
        here = os.stat(dest.parent).st_dev
    except FileNotFoundError:
        dest.parent.mkdir(parents=True, exist_ok=True)  # (a sidecar's alt/ folder; a folder model's subfolders)
        here = os.stat(dest.parent).st_dev
    if stamp.dev == here:
        try:
            os.link(src, dest, follow_symlinks=False)
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EACCES):
                raise PumasError(f"{src}: cannot bring into the library: {os_error_text(e)}") from None
        else:
            if hashing.SourceStamp.of(os.stat(dest)) != stamp:
                raise Changed(f"{src}: changed while it was being adopted; left as it is (run `pumas adopt` again)")
            return
    tmp = dest.with_name(f".{dest.name[:200]}.pumas-copy.tmp")
    digest, got = hashing.copy_and_hash(src, tmp, expect=stamp)
    if digest.sha256 != sha256 or got != stamp:
        tmp.unlink(missing_ok=True)
        raise Changed(f"{src}: changed while it was being adopted; left as it is (run `pumas adopt` again)")
    hashing.verify_on_disk(tmp, sha256)
    os.rename(tmp, dest)


def _stamps(h: Hashed) -> dict[str, hashing.SourceStamp]:
    return h.stamps


def _alt_name(h: Hashed, rel: str) -> str:
    """Where a duplicate's own sidecar (different bytes from the model's) lives in the model folder."""
    sha = h.digests[rel][1]
    return f"alt/{sha[:12]}/{text_of(rel.rpartition('/')[2])}"


def _pin_files(h: Hashed, names: dict[str, str]) -> Pin:
    """The pin of one place: each of its files (app path) -> the model file holding its bytes."""
    c = h.cand
    return Pin(app=h.app, path=c.main_rel, files={c.rels[f.rel]: names[f.rel] for f in c.unit.files})


def _stage(content: Path | None, ready: list[Hashed]) -> ModelMetadata:
    """Bring the first place's files into ``content`` and draft the model with a pin per place.

    ``content`` None: draft only (a dry run's prediction), no byte moves.
    """
    src = ready[0]
    unit = src.cand.unit
    names = destination_names(unit)
    meta = draft_metadata(unit, src.ident, ImportOptions())
    update: dict[str, Any] = {}  # applied in one copy: each validated assignment costs more than its file
    if meta.model_type == "unknown" and not meta.subtype:
        # A model apps use that we cannot identify keeps its folder as its role (sams, ultralytics/bbox).
        update["subtype"] = src.cand.role_folder or meta.subtype
    stamps = _stamps(src)
    files: list[FileEntry] = []
    by_sha: dict[str, str] = {}
    for f in unit.files:
        size, sha, b3 = src.digests[f.rel]
        if content is not None:
            _bring(f.source, content / names[f.rel], stamps[f.rel], sha)
        files.append(FileEntry(name=names[f.rel], original_name=text_of(f.rel), size=size, sha256=sha,
                               blake3=b3, role=f.role))
        by_sha.setdefault(sha, names[f.rel])
    pins = [_pin_files(src, names)]
    for h in ready[1:]:
        pins.append(_pin_files(h, _dup_names(h, by_sha, files, content)))
    size_bytes = sum(f.size for f in files)
    previews = sorted((names[f.rel] for f in unit.files if f.role == "preview"),
                      key=lambda n: (".preview." not in n.lower(), n))
    update.update(files=files, primary_file=names[unit.primary],
                  hashes=Hashes(sha256=src.digests[unit.primary][1], blake3=src.digests[unit.primary][2]),
                  size_bytes=size_bytes, approx_weight_size_gb=size_bytes / 1024**3,
                  preview_image=previews[0] if previews else None, pins=pins)
    update.update(_described(meta, [f.source for f in unit.files if f.role != "weights"]))
    return meta.model_copy(update=update)


def _dup_names(h: Hashed, by_sha: dict[str, str], files: list[FileEntry], content: Path | None) -> dict[str, str]:
    """A duplicate's files -> model files: same bytes share one file; its own sidecars come along."""
    out: dict[str, str] = {}
    for f in h.cand.unit.files:
        size, sha, b3 = h.digests[f.rel]
        name = by_sha.get(sha)
        if name is None:
            name = _alt_name(h, f.rel)
            if content is not None and not (content / name).exists():  # (it does after a killed run)
                _bring(f.source, content / name, _stamps(h)[f.rel], sha)
            if not any(e.name == name for e in files):
                files.append(FileEntry(name=name, original_name=text_of(f.rel), size=size, sha256=sha,
                                       blake3=b3, role=f.role))
            by_sha[sha] = name
        out[f.rel] = name
    return out


def _add_places(lib: Library, mid: str, ready: list[Hashed]) -> None:
    """Pins (and their own sidecars) for places whose bytes the library already holds."""
    with locks.exclusive(lib.layout.run_dir / COMMIT_LOCK):
        meta = lib.get(mid)
        folder = lib.model_dir(mid)
        by_sha = {f.sha256: f.name for f in meta.files if f.sha256}
        files = list(meta.files)
        pins = list(meta.pins)
        for h in ready:
            names = _dup_names(h, by_sha, files, folder)
            pin = _pin_files(h, names)
            pins = [p for p in pins if not (p.app == pin.app and p.path == pin.path)] + [pin]
        _fsync_tree(folder)
        meta.files = files
        meta.pins = pins
        lib.save(meta)


def _described(meta: ModelMetadata, sidecars: list[Path]) -> dict[str, Any]:
    """The fields the sidecars fill in (official name, base model, trigger words: searchable)."""
    if not sidecars:
        return {}
    found = read_descriptions(sidecars)
    out: dict[str, Any] = {}
    if found.get("official_name"):
        out["official_name"] = str(found["official_name"])
    if found.get("base_model"):
        out["base_model"] = str(found["base_model"])
    words = found.get("trigger_words") or []
    if words:
        out["trigger_words"] = list(dict.fromkeys([*meta.trigger_words, *words]))
    return out


def _fsync_tree(root: Path) -> None:
    from pumasfs.base.atomic import fsync_dir

    for d, _dirs, _files in os.walk(root):
        fsync_dir(Path(d))


# -- the swap ----------------------------------------------------------------------


def _targets(lib: Library, inst: _Install) -> Any:
    from materializer.links import Targets

    cached = getattr(inst, "_targets", None)
    if cached is None:
        lt = inst.app.link_type
        cached = Targets(lib.layout.models_dir, inst.base, None if lt in (None, "", "auto") else lt)
        inst._targets = cached  # type: ignore[attr-defined]
    return cached


def _swap_place(lib: Library, inst: _Install, h: Hashed, pin: Pin, mid: str) -> None:
    targets = _targets(lib, inst)
    stamps = _stamps(h)
    by_path = {h.cand.rels[f.rel]: f for f in h.cand.unit.files}
    # Weights first: a sidecar that fails to swap is still a real file with its bytes.
    order = sorted(by_path, key=lambda p: (by_path[p].role != "weights", p))
    for path in order:
        f = by_path[path]
        spec = targets.specs(path, mid, f"{mid}/{pin.files[path]}", False)[0]
        swap_in_link(str(inst.base / path), spec, targets.models_real, stamps[f.rel])


# -- the registry ------------------------------------------------------------------


def _register(ws: Workspace, inst: _Install, result: AdoptResult) -> None:
    """Record the links of every model pinned in this install (the materializer adopts links on disk)."""
    from materializer.api import locked_registry
    from materializer.sync import apply_plan
    from pumasfs.planning.planner import build_plan

    lib = ws.library
    records = [r for r in lib.index.records() if r.meta.pins_of(inst.app.name)]
    if not records:
        return
    plan = build_plan(records, inst.tmap, inst.app, full=False)
    lt = inst.app.link_type
    with locked_registry(ws.layout) as reg:
        report = apply_plan(reg, ws.layout.models_dir, plan, inst.base, app=inst.app.name,
                            link_type=None if lt in (None, "", "auto") else lt, allow_conflicts=True,
                            mark_dirty=False, mode="adopt")
    kill_point("registered")
    result.conflicts += [f"{c.path}: {c.detail}" for c in report.conflicts]
    result.failures += report.errors


# -- finishing a killed run --------------------------------------------------------


@dataclass
class Pending:
    app: str
    path: str
    model_id: str
    state: str  # finished | changed | missing-app


def finish_pending(ws: Workspace, *, fix: bool, apps: set[str] | None = None) -> list[Pending]:
    """Pinned paths still holding a real file (a run killed between commit and swap): swap them.

    A file is swapped only if its bytes are the library file's (the same
    inode, or the same SHA256 after a read); anything else is reported.
    Costs one ``lstat`` per pinned file when there is nothing to finish.
    """
    from materializer.links import Targets

    lib = ws.library
    out: list[Pending] = []
    from pumasfs.usecases.release import release_marker

    installs = {a.name: a for a in load_apps(ws.layout).apps
                if (apps is None or a.name in apps) and not os.path.exists(release_marker(ws, a.name))}
    where: dict[str, Any] = {}
    # Only models with pins (the index's pins table): decoding all 100,000 records costs a second.
    for rec in lib.index.records(lib.index.pinned_model_ids()) if installs else ():
        meta = rec.meta
        for pin in meta.pins:
            app = installs.get(pin.app)
            if app is None or not pin.files:
                continue
            if pin.app not in where:
                try:
                    tmap = select_map(ws.layout, app).map
                except PumasError:
                    where[pin.app] = None
                    continue
                base = plan_root(app, tmap)
                lt = app.link_type
                where[pin.app] = (base, Targets(lib.layout.models_dir, base,
                                                None if lt in (None, "", "auto") else lt))
            if where[pin.app] is None:
                continue
            base, targets = where[pin.app]
            for path, name in sorted(pin.files.items()):
                abs_path = str(base / path)
                stamp = stamp_of(abs_path)
                if stamp is None:
                    continue  # a link (or nothing): the materializer's business
                try:
                    lst = os.stat(lib.model_dir(meta.model_id) / name)
                except OSError:
                    continue
                same = (lst.st_dev, lst.st_ino) == (stamp.dev, stamp.ino)
                if not fix:
                    out.append(Pending(pin.app, path, meta.model_id, "unfinished"))
                    continue
                if not same:
                    d, _ = hashing.hash_file(Path(abs_path), blake=False)
                    want = next((f.sha256 for f in meta.files if f.name == name), None)
                    same = d.sha256 == want and stamp_of(abs_path) == stamp
                if not same:
                    out.append(Pending(pin.app, path, meta.model_id, "changed"))
                    continue
                spec = targets.specs(path, meta.model_id, f"{meta.model_id}/{name}", False)[0]
                try:
                    swap_in_link(abs_path, spec, targets.models_real, stamp, durable=True)
                except PumasError:
                    out.append(Pending(pin.app, path, meta.model_id, "changed"))
                    continue
                out.append(Pending(pin.app, path, meta.model_id, "finished"))
    return out


# -- what is left to adopt (for sync and doctor) -------------------------------------


@dataclass
class Unmanaged:
    app: str
    files: int
    bytes: int
    duplicates: int  # of models the library already holds (same size, same first and last MiB)

    def line(self) -> str:
        from pumasfs.cli.output import size_text

        dup = f", {self.duplicates} of them already in the library" if self.duplicates else ""
        return (f"{self.app}: {self.files} model file(s) ({size_text(self.bytes)}) are not managed by pumas{dup}; "
                f"`pumas adopt {self.app}` brings them in without changing their paths")


def unmanaged(ws: Workspace, apps: list[str] | None = None) -> list[Unmanaged]:
    """Model files sitting in app folders as real files; names and sizes only (and a sample for duplicates)."""
    from pumasfs.importing.importer import _sample_digest

    lib = ws.library
    models_real = os.path.realpath(ws.layout.models_dir)
    out: list[Unmanaged] = []
    for app in load_apps(ws.layout).apps:
        if apps is not None and app.name not in apps:
            continue
        try:
            tmap = select_map(ws.layout, app).map
        except PumasError:
            continue
        scan = scan_install(app, tmap, models_real, sort_links=False)  # real files only: no readlink each
        files = size = dups = 0
        for c in scan.candidates:
            pickle = c.unit.primary.lower().endswith((".ckpt", ".pt", ".pth", ".bin", ".pkl"))
            if pickle and getattr(_identify(c), "unsafe_globals", None):
                continue  # adopt leaves it where it is: nothing to suggest
            files += len(c.unit.files)
            size += c.unit.size
            p = c.unit.primary_source
            n = _size(p)
            rows = lib.index.models_with_size(n)[:8]
            if rows:
                mine = _sample_digest(p, n)
                for mid, name, _sha in rows:
                    try:
                        other = lib.model_dir(mid) / name
                    except PumasError:
                        continue
                    if _sample_digest(other, n) == mine:
                        dups += 1
                        break
        if files:
            out.append(Unmanaged(app.name, files, size, dups))
    return out
