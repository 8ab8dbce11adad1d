"""Diff the wanted links against the registry, collect every conflict, then apply.

Like Stow 2.x, everything is decided in memory first.  The disk is looked at
only where something is about to change (or, after a crash, everywhere we
own): a path we are about to create is checked with one ``listdir`` per
folder (an ``lstat`` each when only a few are new); a path we are about to
replace or remove is checked against what the registry says we wrote.
Anything we do not own at a path we need is a conflict: reported, never
touched, and (by default) it stops the whole apply for that app.

Step order makes a killed run recoverable without guessing: the registry's
``dirty`` flag is committed first; a link is made before its row is written
(a link on disk exactly as planned is adopted next time); a link is removed
before its row is dropped (a row whose link vanished is forgotten next time);
a folder's row is written before the folder is made.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from .links import (
    LINK_KINDS,
    TMP_SUFFIX,
    LinkSpec,
    describe,
    make,
    on_disk_matches,
    open_dir,
    replace,
    sweep_temp,
)
from .registry import Registry
from .report import ConflictInfo, SyncReport
from .row_writer import STEP as ROWS_STEP
from .row_writer import RowWriter

_SYMLINK = {name: kind.symlink for name, kind in LINK_KINDS.items()}
_LSTAT_MAX = 64  # new links in one folder up to which we lstat each instead of listing the folder


@dataclass
class Actions:
    create: list[LinkSpec] = field(default_factory=list)
    retarget: list[tuple[LinkSpec, LinkSpec]] = field(default_factory=list)  # (new, old)
    adopt: list[LinkSpec] = field(default_factory=list)
    remove: list[LinkSpec] = field(default_factory=list)
    forget: list[LinkSpec] = field(default_factory=list)  # row only: the link vanished
    disown: list[LinkSpec] = field(default_factory=list)  # row only: someone else changed the link
    mkdirs: list[str] = field(default_factory=list)  # shallow first
    clear_trees: list[str] = field(default_factory=list)  # our emptied folders a new link replaces
    conflicts: list[ConflictInfo] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.create or self.retarget or self.adopt or self.remove or self.forget
                    or self.disown or self.mkdirs)


class _Folders:
    """Which folders exist, which we must make, which are blocked (one lstat per folder)."""

    def __init__(self, base: str, models_real: str, rows: dict[str, LinkSpec], desired: dict[str, LinkSpec]) -> None:
        self.base, self.models_real = base, models_real
        self.rows, self.desired = rows, desired
        self.state: dict[str, str] = {}  # folder -> ok | make | blocked
        self.mkdirs: list[str] = []
        self.conflicts: list[ConflictInfo] = []
        self._names: dict[str, set[str]] = {}
        self.fds: dict[str, int | None] = {}

    def fd(self, folder: str) -> int | None:
        """A handle on an existing folder (``links.open_dir``), kept in ``fds`` until :meth:`close`."""
        if folder in self.fds:
            return self.fds[folder]
        fd = self.fds[folder] = open_dir(f"{self.base}/{folder}" if folder else self.base)
        return fd

    def close(self) -> None:
        for fd in self.fds.values():
            if fd is not None:
                os.close(fd)
        self.fds.clear()

    def check(self, folder: str) -> str:
        s = self.state.get(folder)
        if s is not None:
            return s
        parent = folder.rpartition("/")[0]
        if parent and self.check(parent) != "ok":
            s = "blocked" if self.state[parent] == "blocked" else "make"
        else:
            s = self._probe(folder)
        self.state[folder] = s
        if s == "make":
            self.mkdirs.append(folder)
        return s

    def _probe(self, folder: str) -> str:
        abs_path = f"{self.base}/{folder}"
        try:
            st = os.lstat(abs_path)
        except FileNotFoundError:
            return "make"
        if stat.S_ISDIR(st.st_mode):
            return "ok"
        row = self.rows.get(folder)
        if row is not None and folder not in self.desired and on_disk_matches(row, abs_path):
            return "make"  # our own link is removed first, then the folder takes its place
        if stat.S_ISLNK(st.st_mode) and os.path.isdir(abs_path):
            real = os.path.realpath(abs_path)
            if real == self.models_real or real.startswith(self.models_real + "/"):
                self.conflicts.append(ConflictInfo(abs_path, "inside-link",
                                                   "a link into the library; writing below it would write into the library"))
                return "blocked"
            return "ok"  # the user's folder lives elsewhere: links go there
        self.conflicts.append(ConflictInfo(abs_path, "not-a-folder", f"links need a folder here, found {describe(abs_path)}"))
        return "blocked"

    def has_name(self, folder: str, name: str, wanted: int) -> bool:
        """Does ``folder/name`` exist?  For many new links in a folder, one listdir instead of
        one lstat each; for a few (an incremental sync), lstat, which does not grow with the folder."""
        if self.state.get(folder, "ok") == "make":
            return False
        if wanted <= _LSTAT_MAX:
            return os.path.lexists(f"{self.base}/{folder}/{name}" if folder else f"{self.base}/{name}")
        names = self._names.get(folder)
        if names is None:
            try:
                names = set(os.listdir(f"{self.base}/{folder}" if folder else self.base))
            except OSError:
                names = set()
            self._names[folder] = names
        return name in names


def diff(
    base: str,
    models_real: str,
    desired: dict[str, LinkSpec],
    rows: dict[str, LinkSpec],
    *,
    verify: bool = False,
    owners: frozenset[str] | None = None,
    variants: Callable[[LinkSpec], list[LinkSpec]] | None = None,
) -> Actions:
    """What to do so that the disk and the registry show ``desired`` (for the rows given).

    ``rows`` are the registry rows in scope: all of the app's for a full
    sync, the affected models' (plus whatever sits at a wanted path) for an
    incremental one.  ``owners`` (incremental only) are the model ids this
    plan speaks for: a wanted path held by another model is a conflict, not
    something to take over.  ``verify`` checks unchanged rows on disk too
    (after a crash), and then ``variants`` (the other link forms we could
    have written for a row) count as ours: a killed replace leaves some.
    """

    def as_found(have: LinkSpec, abs_path: str) -> LinkSpec | None:
        if not verify or variants is None:
            return None
        return next((v for v in variants(have) if on_disk_matches(v, abs_path)), None)

    acts = Actions()
    folders = _Folders(base, models_real, rows, desired)
    for folder in sorted({p.rpartition("/")[0] for p in desired} - {""}):
        folders.check(folder)

    new_in: dict[str, int] = {}
    for path in desired:
        if path not in rows:
            folder = path.rpartition("/")[0]
            new_in[folder] = new_in.get(folder, 0) + 1
    try:
        _diff_desired(acts, base, desired, rows, folders, new_in, verify, owners, as_found)
    finally:
        folders.close()

    for path, have in rows.items():
        if path in desired:
            continue
        abs_path = f"{base}/{path}"
        if on_disk_matches(have, abs_path):
            acts.remove.append(have)
        elif not os.path.lexists(abs_path):
            acts.forget.append(have)
        elif (found := as_found(have, abs_path)) is not None:
            acts.remove.append(found)
        else:
            acts.disown.append(have)
    acts.mkdirs = folders.mkdirs
    acts.conflicts[:0] = folders.conflicts
    return acts


def _diff_desired(acts: Actions, base: str, desired: dict[str, LinkSpec], rows: dict[str, LinkSpec],
                  folders: _Folders, new_in: dict[str, int], verify: bool, owners: frozenset[str] | None,
                  as_found: Callable[[LinkSpec, str], LinkSpec | None]) -> None:
    """``diff`` for the wanted paths (its docstring)."""
    readlink = os.readlink
    state, fds = folders.state, folders.fds
    unchanged = 0
    for path, want in desired.items():
        folder, _, name = path.rpartition("/")
        if folder and state[folder] == "blocked":
            continue
        have = rows.get(path)
        if have == want:  # keyed by path: the same link (``same_as``)
            # Unchanged in the registry (nearly every row of a full sync): ``on_disk_matches``
            # inline when the disk is to be checked, one readlink from the folder's handle.
            if not verify:
                unchanged += 1
                continue
            target = want.target
            if target is not None and _SYMLINK[want.kind]:
                fd = fds[folder] if folder in fds else folders.fd(folder)
                try:
                    same = (readlink(name, dir_fd=fd) if fd is not None else readlink(f"{base}/{path}")) == target
                except OSError:
                    same = False
                if same:
                    unchanged += 1
                    continue
        abs_path = f"{base}/{path}"
        if have is None:
            if not folders.has_name(folder, name, new_in[folder]):
                acts.create.append(want)
            elif on_disk_matches(want, abs_path):
                acts.adopt.append(want)
            elif _our_tree_going_away(base, path, rows, desired):
                # A folder model linked file by file (hardlinks) becoming one link.
                acts.clear_trees.append(path)
                acts.create.append(want)
            else:
                acts.conflicts.append(ConflictInfo(abs_path, "exists", f"found {describe(abs_path)}"))
            continue
        if owners is not None and have.model_id not in owners and have.model_id != want.model_id:
            acts.conflicts.append(ConflictInfo(
                abs_path, "held-by-other-model",
                f"linked for {have.model_id}; run a full `pumas sync` to settle the name"))
            continue
        if have.same_as(want) and (not verify or on_disk_matches(have, abs_path)):
            acts.unchanged += 1
        elif not have.same_as(want) and on_disk_matches(have, abs_path):
            acts.retarget.append((want, have))
        elif on_disk_matches(want, abs_path):
            acts.adopt.append(want)
        elif not os.path.lexists(abs_path):
            acts.create.append(want)
        elif (found := as_found(have, abs_path)) is not None:
            acts.retarget.append((want, found))
        else:
            acts.conflicts.append(ConflictInfo(abs_path, "changed", f"pumas made a link here, now {describe(abs_path)}"))
    acts.unchanged += unchanged


def _our_tree_going_away(base: str, path: str, rows: dict[str, LinkSpec], desired: dict[str, LinkSpec]) -> bool:
    """True when the real folder at ``path`` holds only links of ours that this plan removes."""
    abs_path = f"{base}/{path}"
    if os.path.islink(abs_path) or not os.path.isdir(abs_path):
        return False
    owned = {p for p in rows if p.startswith(path + "/")}
    if not owned or any(p in desired for p in owned):
        return False
    for dirpath, _, filenames in os.walk(abs_path):
        for name in filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), base)
            if rel not in owned or not on_disk_matches(rows[rel], f"{base}/{rel}"):
                return False
    return True


def fill_report(report: SyncReport, acts: Actions) -> None:
    report.created = [s.path for s in acts.create]
    report.retargeted = [n.path for n, _ in acts.retarget]
    report.removed = [s.path for s in acts.remove]
    report.adopted = [s.path for s in acts.adopt]
    report.forgotten = [s.path for s in acts.forget + acts.disown]
    report.unchanged = acts.unchanged
    report.folders_created = list(acts.mkdirs)
    report.conflicts = list(acts.conflicts)
    report.warnings += [
        f"{s.path}: pumas made this link but someone changed it; left alone and no longer tracked" for s in acts.disown
    ]


def execute(reg: Registry, app: str, base: str, models_real: str, acts: Actions, report: SyncReport,
            finish: Callable[[], None] | None = None) -> None:
    """Apply ``acts`` (conflicts already excluded); errors are collected in ``report.errors``.

    ``finish`` runs inside the transaction that records the last links, so
    a small sync costs one commit.
    """
    touched: set[str] = set()  # folders that lost an entry: candidates for pruning

    # Removals first: they free names and folders that creations may need.
    gone: list[str] = []
    for s in acts.remove:
        try:
            os.unlink(f"{base}/{s.path}")
            gone.append(s.path)
            touched.add(s.path.rpartition("/")[0])
        except FileNotFoundError:
            gone.append(s.path)
        except OSError as e:
            report.errors.append(f"{base}/{s.path}: cannot remove: {e.strerror}")
    dropped = gone + [s.path for s in acts.forget + acts.disown]
    if dropped:
        with reg.transaction():
            reg.delete(app, dropped)
    for tree in acts.clear_trees:
        prune_dirs(reg, app, base, set(), under=tree)

    if acts.mkdirs:
        with reg.transaction():
            reg.add_dirs(app, acts.mkdirs)
        not_ours = []
        for d in acts.mkdirs:
            try:
                os.mkdir(f"{base}/{d}")
            except FileExistsError:
                not_ours.append(d)  # appeared meanwhile: not ours to remove later
            except OSError as e:
                report.errors.append(f"{base}/{d}: cannot create folder: {e.strerror}")
                not_ours.append(d)
        if not_ours:
            with reg.transaction():
                reg.delete_dirs(app, not_ours)

    done: list[LinkSpec] = []
    symlink = os.symlink
    # Many links: their rows are stored on a thread while the next ones are made (row_writer.py).
    writer = RowWriter(reg, app, models_real) if len(acts.create) > ROWS_STEP else None
    try:
        for s in acts.create:
            abs_path = f"{base}/{s.path}"
            try:
                if s.target is not None and _SYMLINK[s.kind]:
                    symlink(s.target, abs_path)  # ``make`` for a symlink, without its two calls per link
                else:
                    make(s, abs_path, models_real)
            except FileExistsError:
                if on_disk_matches(s, abs_path):
                    done.append(s)
                else:
                    report.errors.append(f"{abs_path}: appeared while linking ({describe(abs_path)}); left alone")
                continue
            except OSError as e:
                report.errors.append(_link_error(abs_path, e))
                continue
            done.append(s)
            if writer is not None and len(done) >= ROWS_STEP:
                writer.put(done)
                done = []
    except BaseException:
        if writer is not None:
            writer.stop()  # what was queued is recorded; this error, not the writer's, is the one to tell
        raise
    if writer is not None:
        writer.close()  # the registry is the caller's again from here on
    for new, old in acts.retarget:
        abs_path = f"{base}/{new.path}"
        try:
            replace(new, abs_path, models_real, old)
        except OSError as e:
            report.errors.append(_link_error(abs_path, e))
            continue
        done.append(new)
    done += acts.adopt
    if touched:
        report.folders_removed = prune_dirs(reg, app, base, touched)
    with reg.transaction():
        reg.put(app, done, models_real)
        if finish is not None:
            finish()


def _link_error(abs_path: str, e: OSError) -> str:
    if e.errno in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS):
        return f"{abs_path}: this filesystem refused the link ({e.strerror})"
    return f"{abs_path}: cannot link: {e.strerror}"


def prune_dirs(reg: Registry, app: str, base: str, folders: set[str], *, everything: bool = False,
               under: str | None = None) -> list[str]:
    """Remove folders we created that are now empty, deepest first; never anyone else's.

    ``under``: only that folder and the ones inside it (and not its parents).
    """
    ours = reg.dirs_of_app(app)
    if everything:
        candidates = set(ours)
    elif under is not None:
        candidates = {d for d in ours if d == under or d.startswith(under + "/")}
    else:
        candidates = set()
        for f in folders:
            while f:
                if f in ours:
                    candidates.add(f)
                f = f.rpartition("/")[0]
    removed: list[str] = []
    base_real = os.path.realpath(base)
    for d in sorted(candidates, key=lambda p: (-p.count("/"), p)):
        if os.path.realpath(f"{base}/{d}") != f"{base_real}/{d}":
            continue  # someone put a link in its place (or above it): that folder is not the one we made
        try:
            os.rmdir(f"{base}/{d}")
            removed.append(d)
        except FileNotFoundError:
            removed.append(d)
        except OSError:
            continue  # not empty (the user put something there) or not ours to judge
    if removed:
        with reg.transaction():
            reg.delete_dirs(app, removed)
    return removed


def sweep_temps(base: str, desired: dict[str, LinkSpec], rows: dict[str, LinkSpec]) -> int:
    """After a crash: remove ``.name.pumas-tmp`` leftovers next to links we manage (one listdir per folder).

    Leftovers are rare: the folders are listed first, and the links (wanted and registered)
    grouped by name only for a folder that holds one.
    """
    folders = {p.rpartition("/")[0] for p in desired}
    folders |= {p.rpartition("/")[0] for p in rows.keys() - desired.keys()}
    n = 0
    for folder in folders:
        d = f"{base}/{folder}" if folder else base
        try:
            temps = [e for e in os.listdir(d) if e.startswith(".") and e.endswith(TMP_SUFFIX)]
        except OSError:
            continue
        if not temps:
            continue
        names: dict[str, tuple[LinkSpec, ...]] = {}
        for s in (*desired.values(), *rows.values()):
            f, _, name = s.path.rpartition("/")
            if f == folder:
                names[name] = names.get(name, ()) + (s,)
        for e in temps:
            owners = names.get(e[1 : -len(TMP_SUFFIX)])
            if owners and sweep_temp(f"{d}/{e[1 : -len(TMP_SUFFIX)]}", owners):
                n += 1
    return n
