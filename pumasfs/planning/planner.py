"""The planner: library records + a translation map + an install -> a Plan.

Pure: it reads only its arguments (no files, no clock, no app folders), and
the same arguments give an identical Plan.  The materializer writes the plan
as links; the FUSE view serves it.

How one model is placed
-----------------------
1. ``overrides.json`` invalid -> excluded ("overrides-invalid"); its version
   range for this app (by install name, else kind) not containing the
   install's version -> excluded ("overrides").
2. The map's ``exclude`` guard (e.g. ComfyUI never takes ``model_type`` llm)
   -> excluded ("excluded-type" / "excluded-tag").
3. The first rule by priority whose ``match`` holds gives the target folder
   (placeholders filled from the model's metadata, each value made a safe
   single path component).  None -> "no-rule"; a rule that matched but for
   its ``exclude_tags`` -> "excluded-tag".
4. Entries: a "folder" model (Diffusers) is ONE directory entry
   ``<target>/<cleaned_name>`` -> ``<model_id>``.  A "file" model gets
   ``<target>/<primary file name>`` -> ``<model_id>/<primary_file>``, the
   other shards of a split set, and (unless the rule says
   ``"companions": false``) the same-stem ``.yaml`` config, the preview
   images apps read beside a file (``<stem>.preview.png``) and the
   ``<stem>.civitai.info`` CivitAI extensions read.  Companion names
   follow the main file's link name, renamed or not.

Pins
----
A model with pinned placements for this install (``meta.pins``, written by
``pumas adopt`` and ``pumas pin``) is placed at exactly its pinned path(s)
there, never also where the map would put it (ComfyUI would list it twice),
and whatever the map's rules or guards say: a pin records where the user's
file was.  Pinned paths are taken first; a map-placed model claiming the
same ``(folder, stem)`` as a pinned one is renamed as a collision loser.
Elsewhere the model is placed by the map as usual.

Collisions
----------
Every entry of a model in its folder is ``<stem><suffix>`` for one *stem*
(the main link name without extension and shard suffix, or the folder
model's name).  A model *claims* ``(folder, stem)``; ComfyUI pairs previews
and configs with weights by stem, so two models sharing a stem would share
them and must not coexist.  Among the claimants of one stem, the earliest
``added_date`` (then model id) keeps it; every other one renames all its
entries to ``<stem>-<short_hash(model_id)><suffix>`` (for ``foo.safetensors``
that is exactly ``naming.disambiguate``).  A model's place therefore depends
only on the models that share its stem, which keeps sync O(changed).
(Should a renamed path still be taken, by a model literally named like the
renamed one, the later model is excluded with reason "collision".)

Incremental callers
-------------------
``pumasfs.planning.replan`` does this for both views.  To plan only changed models and
get exactly the matching slice of the full plan, plan the changed models
*together with every model claiming one of their stems*, old and new:

    seeds = [records of the changed models that still exist]
    old = {naming.stem_of(p.rsplit('/', 1)[-1]) for p in the paths the view shows for changed/removed models}
    records = related_records(seeds, index_stem_lookup(index), tmap, app, extra_stems=old)
    plan = build_plan(records, tmap, app, full=False)

then replace, for every model id in ``plan.models``, its entries by the plan's.
``lookup(stem)`` must return every record having a file whose
``naming.stem_of`` is ``stem``, whose ``cleaned_name`` is ``stem``, or pinned
at a name with that stem; more is harmless.  ``index_stem_lookup`` does that
through three indexed range scans of models.db (file names, cleaned names and
pinned names starting with the stem).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from pumasfs.base.relpath import is_safe_relpath
from pumasfs.planning.installs import AppInstall
from pumasfs.planning.map_schema import Rule, TranslationMap
from pumasfs.planning.plan import Collision, Exclusion, FileView, MetaView, PinView, Plan, PlanEntry, RecordView
from pumasfs.store.model_record import ModelRecord
from pumasfs.store.naming import MAX_NAME_BYTES, safe_filename, short_hash, stem_of

if TYPE_CHECKING:
    from pumasfs.store.index import Index

CONFIG_EXTS = (".yaml", ".yml")
PREVIEW_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".gif")
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})(\.[^.]+)$")


class _Group(NamedTuple):
    """One model's wanted entries in one folder, before collisions (a tuple: one per model)."""

    model_id: str
    order: tuple[str, str]  # (added_date, model_id): who keeps a contested stem
    folder: str  # "" = the map's base folder itself
    stem: str
    items: tuple[tuple[str, str, bool], ...]  # (suffix, source, is_dir); name = stem + suffix
    exact: bool = False  # a pin's exact files: items hold (app path, source, is_dir)

    def paths(self, stem: str | None = None) -> list[str]:
        if self.exact:
            return [path for path, _, _ in self.items]
        s = self.stem if stem is None else stem
        return [_join(self.folder, s + suffix) for suffix, _, _ in self.items]


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


# -- rule matching -----------------------------------------------------------


def _primary(meta: MetaView) -> str | None:
    if meta.primary_file:
        return meta.primary_file
    weights = meta.weight_files()
    return weights[0].name if len(weights) == 1 else None


def _match_name(meta: MetaView) -> str:
    if meta.layout == "folder":
        return meta.cleaned_name
    primary = _primary(meta)
    return posixpath.basename(primary) if primary else (meta.original_name or meta.cleaned_name)


def _rule_verdict(rule: Rule, meta: MetaView) -> str | None:
    """"match", "excluded" (everything held but exclude_tags), or None."""
    m = rule.match

    def low(v: str | None) -> str:
        return (v or "").lower()

    if m.model_type and low(meta.model_type) not in m.model_type:
        return None
    if m.subtype and low(meta.subtype) not in m.subtype:
        return None
    if m.family and low(meta.family) not in m.family:
        return None
    if m.base_model and low(meta.base_model) not in m.base_model:
        return None
    if m.format and low(meta.format) not in m.format:
        return None
    if m.layout and meta.layout not in m.layout:
        return None
    tags = {t.lower() for t in meta.tags}
    if m.tags_any and not tags & set(m.tags_any):
        return None
    if m.filename_glob:
        name = _match_name(meta).lower()
        if not any(fnmatch.fnmatchcase(name, g.lower()) for g in m.filename_glob):
            return None
    if m.min_size is not None and meta.size_bytes < m.min_size:
        return None
    if m.max_size is not None and meta.size_bytes > m.max_size:
        return None
    if tags & set(m.exclude_tags):
        return "excluded"
    return "match"


class _Placeholders(dict[str, str]):
    """A target's ``{name}`` values, each made one safe path component on first use.

    Most targets use none or one of them; computing all six for every model
    was a third of a full plan's time.
    """

    def __init__(self, meta: MetaView) -> None:
        super().__init__()
        self.meta = meta

    def __missing__(self, key: str) -> str:
        meta = self.meta
        owner, _, repo = (meta.hub_repo or "").partition("/")
        raw = {
            "family": lambda: meta.family,
            "cleaned_name": lambda: meta.cleaned_name,
            "publisher": lambda: owner if repo else "pumas",
            "repo": lambda: repo if repo else meta.cleaned_name,
            "model_type": lambda: meta.model_type,
            "subtype": lambda: meta.subtype or "",
        }[key]()
        value = self[key] = safe_filename(raw or "", fallback="unknown")
        return value


class _RuleBook:
    """The map's rules, each model's first matching rule remembered by the facts rules look at.

    Ten thousand models fall into a few dozen kinds (type, subtype, family,
    format, layout, the tags rules name); the rules are walked once per kind,
    not once per model, which was a fifth of a full plan's time.  A key holds
    every fact ``_rule_verdict`` reads (the file name and size only when some
    rule asks for them), so a remembered verdict is exactly the one the walk
    would give.
    """

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.by_name = any(r.match.filename_glob for r in rules)
        self.by_size = any(r.match.min_size is not None or r.match.max_size is not None for r in rules)
        # Tags matter only through the words some rule names (Match lowers them): a model's
        # other tags (CivitAI gives dozens, often unique) must not make every key different.
        self.tag_words = frozenset(t for r in rules for t in (*r.match.tags_any, *r.match.exclude_tags))
        self._memo: dict[tuple[object, ...], tuple[Rule | None, Rule | None]] = {}
        self._folders: dict[str, str | None] = {}

    def first(self, meta: MetaView) -> tuple[Rule | None, Rule | None]:
        """(the first matching rule, the first rule that matched but for its exclude_tags)."""
        key = (meta.model_type, meta.subtype, meta.family, meta.base_model, meta.format, meta.layout,
               frozenset(w for w in (t.lower() for t in meta.tags) if w in self.tag_words) if self.tag_words else None,
               _match_name(meta) if self.by_name else None,
               meta.size_bytes if self.by_size else None)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._walk(meta)
        return hit

    def _walk(self, meta: MetaView) -> tuple[Rule | None, Rule | None]:
        blocked = None
        for r in self.rules:
            verdict = _rule_verdict(r, meta)
            if verdict == "match":
                return r, blocked
            if verdict == "excluded" and blocked is None:
                blocked = r
        return None, blocked

    def target(self, rule: Rule, meta: MetaView) -> str | None:
        if "{" in rule.target:
            return _target(rule, meta)
        folder = self._folders.get(rule.target, "")
        if folder == "":
            folder = self._folders[rule.target] = _target(rule, meta)
        return folder


def _target(rule: Rule, meta: MetaView) -> str | None:
    if rule.target == ".":
        return ""
    if "{" not in rule.target:
        folder = rule.target
    else:
        folder = rule.target.format_map(_Placeholders(meta))
    return folder if is_safe_relpath(folder) else None


# -- entries of one model ----------------------------------------------------


def _base_stem(name: str) -> str:
    stem = stem_of(name)
    if not name.startswith(stem):  # a name stem_of reshaped oddly: fall back to the plain stem
        stem = name.rpartition(".")[0] or name
    return stem


def _file_items(meta: MetaView, primary: str, companions: bool) -> tuple[str, list[tuple[str, str, bool]]]:
    """(stem, [(suffix, source, is_dir)]) for a "file" model."""
    mid = meta.model_id
    lib_dir, _, lib_name = primary.rpartition("/")
    main = safe_filename(lib_name)
    stem = _base_stem(main)
    items = [(main[len(stem):], f"{mid}/{primary}", False)]
    if len(meta.files) < 2 and (not meta.files or meta.files[0].name == primary):
        return stem, items  # the weights file alone: no shards, no companions
    seen = {main}

    def add(name: str, source_name: str) -> None:
        if name in seen or not name.startswith(stem) or _utf8_len(name) > MAX_NAME_BYTES:
            return
        seen.add(name)
        items.append((name[len(stem):], f"{mid}/{source_name}", False))

    siblings: list[FileView] = sorted(
        (f for f in meta.files if f.name != primary and f.name.rpartition("/")[0] == lib_dir and is_safe_relpath(f.name)),
        key=lambda f: f.name,
    )
    shard = _SHARD.search(lib_name)
    if shard:
        for f in siblings:
            other = _SHARD.search(f.name)
            if f.role == "weights" and other and other.group(2, 3) == shard.group(2, 3) \
                    and stem_of(f.name) == stem_of(primary):
                add(safe_filename(f.name.rpartition("/")[2]), f.name)
    if companions:
        main_noext = main.rpartition(".")[0] or main
        lib_noext = lib_name.rpartition(".")[0] or lib_name
        for f in siblings:
            base = f.name.rpartition("/")[2]
            ext = "." + base.rpartition(".")[2].lower() if "." in base else ""
            if f.role == "weights":
                continue
            if ext in CONFIG_EXTS and base.rpartition(".")[0] == lib_noext:
                add(main_noext + ext, f.name)
            elif ext in PREVIEW_EXTS and (
                f.role == "preview" or base == meta.preview_image or base.startswith(lib_noext + ".")
            ):
                suffix = base[len(lib_noext):] if base.startswith(lib_noext + ".") else ".preview" + ext
                add(safe_filename(main_noext + suffix), f.name)
            elif base.lower() == (lib_noext + ".civitai.info").lower():
                # What A1111/Forge CivitAI extensions read beside a model to know it.
                add(safe_filename(main_noext + base[len(lib_noext):]), f.name)
    return stem, items


def _group(
    record: RecordView, tmap: TranslationMap, app: AppInstall, book: _RuleBook | None = None
) -> _Group | Exclusion:
    meta = record.meta
    mid = meta.model_id
    if record.overrides_error:
        return Exclusion(mid, "overrides-invalid", record.overrides_error)
    if record.overrides is not None and not record.overrides.allows(app.kind, app.name, app.version):
        spec = record.overrides.version_ranges.get(app.name, record.overrides.version_ranges.get(app.kind))
        return Exclusion(mid, "overrides", f"overrides.json allows {app.kind} {spec!r}, "
                                           f"this install is {app.version or 'of unknown version'}")
    if meta.model_type.lower() in tmap.exclude.model_type:
        return Exclusion(mid, "excluded-type", f"the map never places model_type {meta.model_type!r}")
    if meta.family.lower() in tmap.exclude.family:
        return Exclusion(mid, "excluded-family", f"{app.kind} cannot load {meta.family!r} models")
    hit = {t.lower() for t in meta.tags} & set(tmap.exclude.tags) if meta.tags else None
    if hit:
        return Exclusion(mid, "excluded-tag", f"the map excludes tag {sorted(hit)[0]!r}")
    if not is_safe_relpath(mid):
        return Exclusion(mid, "unsafe-path", "the model id is not a plain relative path")
    if book is None:
        book = _RuleBook(tmap.ordered_rules())
    rule, blocked = book.first(meta)
    if rule is None:
        if blocked is not None:
            return Exclusion(mid, "excluded-tag", f"rule {blocked.name!r} excludes one of its tags")
        return Exclusion(mid, "no-rule", "no rule of the map matches")
    folder = book.target(rule, meta)
    if folder is None:
        return Exclusion(mid, "unsafe-path", f"rule {rule.name!r} gives an unsafe folder for this model")
    order = (meta.added_date, mid)
    if meta.layout == "folder":
        name = safe_filename(meta.cleaned_name)
        return _Group(mid, order, folder, name, (("", mid, True),))
    primary = _primary(meta)
    if primary is None:
        return Exclusion(mid, "no-primary-file", "a file model without primary_file and not one weights file")
    if not is_safe_relpath(primary):
        return Exclusion(mid, "unsafe-path", f"primary_file {primary!r} leaves the model folder")
    stem, items = _file_items(meta, primary, rule.companions)
    return _Group(mid, order, folder, stem, tuple(items))


def _pinned(meta: MetaView, pins: Sequence[PinView]) -> list[_Group] | Exclusion:
    """One group per pin: exactly the pinned paths, nothing from the map."""
    mid = meta.model_id
    if not is_safe_relpath(mid):
        return Exclusion(mid, "unsafe-path", "the model id is not a plain relative path")
    out: list[_Group] = []
    order = ("", mid)  # before any added_date: a pinned path is never renamed
    for pin in sorted(pins, key=lambda p: p.path):
        if not is_safe_relpath(pin.path):
            return Exclusion(mid, "unsafe-path", f"pinned path {pin.path!r} leaves the app folder")
        folder, _, name = pin.path.rpartition("/")
        if pin.files:
            # Exact: every app path to its file (adoption records them as found).
            items: list[tuple[str, str, bool]] = []
            for path, fname in sorted(pin.files.items()):
                if not (is_safe_relpath(path) and is_safe_relpath(fname)):
                    return Exclusion(mid, "unsafe-path", f"pinned file {path!r} -> {fname!r} is not a plain path")
                items.append((path, f"{mid}/{fname}", False))
            out.append(_Group(mid, order, folder, _base_stem(name), tuple(items), exact=True))
        elif meta.layout == "folder":
            out.append(_Group(mid, order, folder, name, (("", mid, True),)))
        else:
            primary = _primary(meta)
            if primary is None or not is_safe_relpath(primary):
                return Exclusion(mid, "no-primary-file", "a pinned file model without a usable primary_file")
            lib_stem, items0 = _file_items(meta, primary, True)
            main_suffix = items0[0][0]
            stem = name[: -len(main_suffix)] if main_suffix and name.endswith(main_suffix) else None
            if stem:
                items = [(suffix, src, d) for suffix, src, d in items0]
            else:  # a pinned name that does not end like the file: the main file alone
                stem, items = name, [("", items0[0][1], False)]
            out.append(_Group(mid, order, folder, stem, tuple(items)))
    return out


def renamed_stem(stem: str, model_id: str, items: Iterable[tuple[str, str, bool]] = ()) -> str:
    """``<stem>-<short_hash(model_id)>``, shortened so every entry name still fits."""
    tag = f"-{short_hash(model_id)}"
    longest = max((_utf8_len(s) for s, _, _ in items), default=0)
    room = MAX_NAME_BYTES - _utf8_len(tag) - longest
    data = stem.encode("utf-8")
    if len(data) > room:
        stem = data[: max(room, 1)].decode("utf-8", errors="ignore")
    return stem + tag


# -- the plan ----------------------------------------------------------------


def _by_order(g: _Group) -> tuple[str, str]:
    return g.order


def build_plan(
    records: Iterable[RecordView], tmap: TranslationMap, app: AppInstall, *, full: bool = True
) -> Plan:
    """The desired tree for ``app``: paths relative to ``maps.plan_root(app, tmap)``."""
    by_id: dict[str, RecordView] = {}
    for rec in records:
        by_id[rec.model_id] = rec
    groups: list[_Group] = []
    pinned: list[_Group] = []
    excluded: list[Exclusion] = []
    book = _RuleBook(tmap.ordered_rules())
    for mid in sorted(by_id):
        meta = by_id[mid].meta
        pins = meta.pins_of(app.name) if meta.pins else None
        if pins:
            p = _pinned(meta, pins)
            if isinstance(p, Exclusion):
                excluded.append(p)
            else:
                pinned += p
            continue
        g = _group(by_id[mid], tmap, app, book)
        (excluded if isinstance(g, Exclusion) else groups).append(g)  # type: ignore[arg-type]

    # Stems are compared without case: NTFS, exFAT and most SMB shares (where an app folder
    # may live, or be copied to) cannot hold `Foo.safetensors` beside `foo.safetensors`.
    claims: dict[tuple[str, str], list[_Group]] = {}
    for g in groups:
        claims.setdefault((g.folder.casefold(), g.stem.casefold()), []).append(g)
    pinned_stems = {
        (g.folder.casefold(), g.stem.casefold()): g for g in sorted(pinned, key=lambda g: (g.model_id, g.paths()[0]))
    }

    # Winners first, then renamed ones, each in claim order: a winner's path
    # never depends on a loser's.  A stem held by a pin has no map-placed winner.
    # Each carries (claim order, insertion number) first: sorted as plain tuples (in C), stably,
    # and the claims may be walked in any order.
    placed: list[tuple[tuple[str, str], int, _Group, str]] = [(g.order, i, g, g.stem) for i, g in enumerate(pinned)]
    renamed: list[tuple[tuple[str, str], int, _Group, str, _Group]] = []  # (.., loser, new stem, winner)
    for key, contenders in claims.items():
        if len(contenders) > 1:  # most stems have one claimant: no sort
            contenders = sorted(contenders, key=_by_order)
        holder = pinned_stems.get(key) if pinned_stems else None
        if holder is None:
            holder = contenders[0]
            placed.append((holder.order, len(placed), holder, holder.stem))
            contenders = contenders[1:]
        for loser in contenders:
            renamed.append((loser.order, len(renamed), loser,
                            renamed_stem(loser.stem, loser.model_id, loser.items), holder))
    placed.sort()
    renamed.sort()

    entries: dict[str, PlanEntry] = {}
    owner: dict[str, str] = {}  # casefolded path -> model id
    collisions: dict[str, tuple[str, list[tuple[str, str]]]] = {}

    def put(g: _Group, stem: str) -> str | None:
        if len(g.items) == 1 and not g.exact:
            path = _join(g.folder, stem + g.items[0][0])
            f = path.casefold()
            if f in owner:
                return path
            entries[path] = PlanEntry(g.model_id, g.items[0][1], g.items[0][2])
            owner[f] = g.model_id
            return None
        paths = g.paths(stem)
        folded = [p.casefold() for p in paths]
        if len(folded) > 1 and len(set(folded)) != len(folded):
            return next(p for p, f in zip(paths, folded, strict=True) if folded.count(f) > 1)
        for p, f in zip(paths, folded, strict=True):
            if f in owner:
                return p
        mid = g.model_id
        for path, f, (_, source, is_dir) in zip(paths, folded, g.items, strict=False):
            entries[path] = PlanEntry(mid, source, is_dir)
            owner[f] = mid
        return None

    for _, _, g, stem in placed:
        clash = put(g, stem)
        if clash is not None:
            excluded.append(Exclusion(g.model_id, "collision", f"{clash} is taken by {owner[clash.casefold()]}"))
    for _, _, g, stem, winner in renamed:
        clash = put(g, stem)
        if clash is not None:
            excluded.append(Exclusion(g.model_id, "collision", f"{clash} is taken by {owner[clash.casefold()]}"))
            continue
        # Keyed by the winner's main path: the stem it kept.
        kept = winner.paths()[0]
        collisions.setdefault(kept, (winner.model_id, []))[1].append((g.model_id, g.paths(stem)[0]))

    return Plan(
        app=app.name,
        entries=dict(sorted(entries.items())),  # paths are unique: the entries are never compared
        excluded=sorted(excluded, key=lambda e: (e.model_id, e.reason)),
        collisions=[
            Collision(path=p, winner=w, renamed=tuple(sorted(r))) for p, (w, r) in sorted(collisions.items())
        ],
        models=frozenset(by_id),
        full=full,
    )


# -- helpers for incremental callers -----------------------------------------


def claim(record: ModelRecord, tmap: TranslationMap, app: AppInstall) -> tuple[str, str] | None:
    """``(folder, stem)`` the model claims in this app, or None when it is not placed."""
    pins = record.meta.pins_of(app.name)
    if pins:
        p = _pinned(record.meta, pins)
        return None if isinstance(p, Exclusion) or not p else (p[0].folder, p[0].stem)
    g = _group(record, tmap, app)
    return None if isinstance(g, Exclusion) else (g.folder, g.stem)


def pinned_stems(record: ModelRecord, app: AppInstall) -> list[str]:
    """Every stem a model's pins hold in this app (a model may be pinned at several paths)."""
    p = _pinned(record.meta, record.meta.pins_of(app.name))
    return [] if isinstance(p, Exclusion) else [g.stem for g in p]


def related_records(
    seeds: Iterable[ModelRecord],
    lookup: Callable[[str], Iterable[ModelRecord]],
    tmap: TranslationMap,
    app: AppInstall,
    *,
    extra_stems: Iterable[str] = (),
) -> list[ModelRecord]:
    """``seeds`` plus every record that can share a stem with them, transitively.

    Planning exactly these gives, for each of them, the same entries as a
    full plan would.  ``extra_stems`` are the stems changed or removed
    models held before (from the registry), so that a model renamed because
    of them gets its natural name back.
    """
    found: dict[str, ModelRecord] = {r.model_id: r for r in seeds}
    todo = [*extra_stems]
    for r in list(found.values()):
        todo += pinned_stems(r, app)
        if (c := claim(r, tmap, app)) is not None:
            todo += [c[1], renamed_stem(c[1], r.model_id)]
    asked: set[str] = set()
    while todo:
        stem = todo.pop()
        if stem in asked:
            continue
        asked.add(stem)
        for r in lookup(stem):
            if r.model_id in found:
                continue
            found[r.model_id] = r
            todo += pinned_stems(r, app)
            if (c := claim(r, tmap, app)) is not None:
                todo.append(c[1])
    return [found[m] for m in sorted(found)]


def index_stem_lookup(index: Index) -> Callable[[str], list[ModelRecord]]:
    """A ``lookup`` for ``related_records`` over models.db (indexed prefix scans; a superset)."""

    def lookup(stem: str) -> list[ModelRecord]:
        return list(index.records(index.models_with_stem(stem)))

    return lookup
