"""What an install holds: the model files in every folder it reads, by name only (no bytes read).

The folders: for a map based on the models folder (ComfyUI, LM Studio) the
whole folder, so custom-node folders found on disk count; for a map based on
the install root (A1111) the fixed part of each rule's target; for ComfyUI
also the folders its ``extra_model_paths.yaml`` adds, when they lie inside
the folder pumas links into.  Files are grouped as the importer groups them
(``grouping.group_paths``: companions, folder models, shard sets).  Links
are never followed: a link into the library is already managed, any other
link is the user's and is listed, untouched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pumasfs.adopt.companions import extra_companions
from pumasfs.base.treewalk import walk_tree
from pumasfs.importing.grouping import ImportUnit, UnitFile, group_paths, is_weights
from pumasfs.planning import extra_paths
from pumasfs.planning.installs import AppInstall
from pumasfs.planning.map_schema import TranslationMap
from pumasfs.planning.map_selection import plan_root


@dataclass(frozen=True)
class LeftAlone:
    app: str
    path: str  # absolute, as found (may hold undecodable bytes as surrogates)
    reason: str  # foreign-link | not-utf8 | unsafe-pickle | outside-folder | incomplete | changed | error
    detail: str = ""


@dataclass
class Candidate:
    """One model found in an install: its unit and each file's path relative to the plan root."""

    app: str
    base: Path
    unit: ImportUnit
    rels: dict[str, str]  # unit file rel -> app-relative path (posix)

    @property
    def main_rel(self) -> str:
        """The pin's path: the weights file, or the folder of a folder model."""
        if self.unit.kind in ("file", "sharded"):
            return self.rels[self.unit.primary]
        return rel_of(self.base, self.unit.source)

    @property
    def role_folder(self) -> str:
        """The folder the model was found in, relative to the plan root: its role when unidentified."""
        return self.main_rel.rpartition("/")[0]


@dataclass
class ScanResult:
    candidates: list[Candidate] = field(default_factory=list)
    left: list[LeftAlone] = field(default_factory=list)
    managed: int = 0  # model files already links into the library
    notes: list[str] = field(default_factory=list)


def rel_of(base: Path, p: Path) -> str:
    return os.path.relpath(p, base).replace(os.sep, "/")


def utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def scan_roots(app: AppInstall, tmap: TranslationMap) -> tuple[Path, list[Path], list[str]]:
    """(plan root, folders to scan, notes) for one install."""
    base = plan_root(app, tmap)
    roots: list[Path] = []
    notes: list[str] = []
    if tmap.base == "models":
        roots.append(base)
    else:
        for rule in tmap.rules:
            fixed = []
            for part in rule.target.split("/"):
                if "{" in part or part == ".":
                    break
                fixed.append(part)
            roots.append(base.joinpath(*fixed) if fixed else base)
    if app.kind == "comfyui":
        folders, error = extra_paths.extra_folders(app.path)
        if error:
            notes.append(error)
        base_real = os.path.realpath(base)
        for key, paths in sorted(folders.items()):
            for p in paths:
                real = os.path.realpath(p)
                if real == base_real or real.startswith(base_real + os.sep):
                    roots.append(Path(base_real) / os.path.relpath(real, base_real))
                elif os.path.isdir(p):
                    notes.append(f"{p} ({key}, from {extra_paths.FILE_NAME}) is outside {base}: not adopted "
                                 "with this install (register the folder's own app to adopt it)")
    kept: list[Path] = []
    for r in sorted({Path(os.path.abspath(r)) for r in roots}, key=lambda p: (len(p.parts), str(p))):
        if not any(r == k or k in r.parents for k in kept):
            kept.append(r)
    return base, kept, notes


def _lexists_link_into(path: str, real_dir: str, models_real: str) -> bool:
    """Whether the link ``path`` (in the symlink-free folder ``real_dir``) leads into the library.

    A ``realpath`` per link costs an ``lstat`` per path component (about 35 for a link of ours), and
    an install can hold 100,000 of them.  Joining the link's text to its folder's real path gives
    the answer without a system call whenever it lands in ``models_real``: every folder on that
    way is real, so ``..`` means what it says.  Only what lands elsewhere (an absolute target
    through a symlinked path, say) is resolved in full.  A link into a folder that someone made a
    symlink inside the library counts as ours: the library's own folders are never links.
    """
    try:
        lexical = os.path.normpath(os.path.join(real_dir, os.readlink(path)))
        if lexical == models_real or lexical.startswith(models_real + os.sep):
            return True
        target = os.path.realpath(path)
    except OSError:
        return False
    return target == models_real or target.startswith(models_real + os.sep)


def _walk_links(root: Path, app: str, models_real: str, out: ScanResult, regular: set[str],
                sort_links: bool = True) -> None:
    """Links in the tree (never followed): ours are counted, the user's are listed (``sort_links``;
    else links are only left out, without a ``readlink`` each).

    Every entry that is not a link goes in ``regular``: whoever asks again
    about one of those needs no second ``lstat``.  One ``scandir`` per folder (``walk_tree``).
    """
    real_dirs: dict[str, str] = {}  # a link's folder -> its real path, once per folder
    for e, _rel, kind in walk_tree(str(root), skip_hidden=True):
        name, p = e.name, e.path
        if kind != "link":
            regular.add(p)
            if kind == "file" and is_weights(name) and not utf8(p):
                out.left.append(LeftAlone(app, p, "not-utf8", "the file name is not valid UTF-8; left in place"))
            continue
        if not sort_links:
            continue
        dirpath = os.path.dirname(p)
        real_dir = real_dirs.get(dirpath)
        if real_dir is None:
            real_dir = real_dirs[dirpath] = os.path.realpath(dirpath)
        if _lexists_link_into(p, real_dir, models_real):
            if is_weights(name) or os.path.isdir(p):
                out.managed += 1
        elif is_weights(name) or os.path.isdir(p):
            out.left.append(LeftAlone(app, p, "foreign-link", f"a link to {os.readlink(p)!r} that pumas did not make"))


def scan_install(app: AppInstall, tmap: TranslationMap, models_real: str, *, root: Path | None = None,
                 sort_links: bool = True) -> ScanResult:
    """Every model an install holds (or, with ``root``, one folder of it, for ``--from``).

    ``sort_links=False``: the candidates only (what `sync` and `doctor` count as not managed yet);
    ``managed`` stays 0 and no link is listed in ``left``, which spares a ``readlink`` per link.
    """
    out = ScanResult()
    if root is None:
        base, roots, notes = scan_roots(app, tmap)
        out.notes += notes
    else:
        base, roots = plan_root(app, tmap), [root]
    seen: set[Path] = set()
    listings: dict[Path, set[str] | None] = {}
    regular: set[str] = set()  # what the walk found not to be a link
    for r in roots:
        if not r.is_dir():
            continue
        _walk_links(r, app.name, models_real, out, regular, sort_links)
        grouping = group_paths([r], links=False)  # every link was sorted by _walk_links
        listed = {x.path for x in out.left}  # a foreign link is listed once, as that, not also as refused
        for e in grouping.errors:
            if "no model files in this folder" in e.message or str(e.source) in listed:
                continue
            out.left.append(LeftAlone(app.name, str(e.source), "incomplete", e.message))
        for unit in grouping.units:
            cand = _candidate(app.name, base, unit, out, listings, regular)
            if cand is not None and unit.primary_source not in seen:
                seen.add(unit.primary_source)
                out.candidates.append(cand)
    return out


def _listing(folder: Path, cache: dict[Path, set[str] | None]) -> set[str] | None:
    if folder not in cache:
        try:
            cache[folder] = set(os.listdir(folder))
        except OSError:
            cache[folder] = None  # (then each sidecar is looked up by its name)
    return cache[folder]


def _candidate(app: str, base: Path, unit: ImportUnit, out: ScanResult,
               listings: dict[Path, set[str] | None], regular: set[str]) -> Candidate | None:
    primary = unit.primary_source

    def is_link(p: Path) -> bool:
        return str(p) not in regular and os.path.islink(p)  # (asked again only when the walk did not see it)

    if any(is_link(f.source) for f in unit.files if f.role == "weights"):
        return None  # a link (ours, counted above; or the user's, listed above)
    if not all(utf8(str(f.source)) for f in unit.files if f.role == "weights"):
        return None  # listed by _walk_links
    if unit.kind == "file":
        extra = [UnitFile(p, name, role)
                 for p, name, role in extra_companions(primary, _listing(primary.parent, listings))]
        have = {f.source for f in unit.files}
        unit.files = [f for f in unit.files if not is_link(f.source) and utf8(str(f.source))]
        unit.files += [f for f in extra if f.source not in have]
    rels: dict[str, str] = {}
    for f in unit.files:
        rel = rel_of(base, f.source)
        if rel.startswith("../") or rel == "..":
            out.left.append(LeftAlone(app, str(primary), "outside-folder", f"outside {base}, where pumas links"))
            return None
        rels[f.rel] = rel
    return Candidate(app, base, unit, rels)
