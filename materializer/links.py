"""Link kinds as one table of behaviour: relative symlink, absolute symlink, hardlink.

Each kind in :data:`LINK_KINDS` says how to build its spec, make it on disk,
recognise it as ours and what it needs of the filesystems; adding a kind
(reflinks, a copy fallback for exFAT) is one entry there.

A :class:`LinkSpec` says exactly what we put at one path, so exactly what we
can later recognise as ours: the text ``readlink`` returns for a symlink, the
``(st_dev, st_ino)`` of the library file for a hardlink.  :class:`Targets`
chooses the strategy per app folder from the filesystems involved and turns
plan entries into specs.

Relative targets are computed from real paths (the HF cache broke users when
it did not): ``relpath(realpath(models_dir), realpath(link_folder))`` once per
folder, then the library-relative source is appended.  The library's own
folders are real directories we created, so no per-file ``realpath`` is
needed, which keeps a 10,000-link materialize close to a bare symlink loop.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pumasfs.base.atomic import TMP_SUFFIX as TMP_SUFFIX  # re-exported for apply and doctor
from pumasfs.base.errors import PumasError
from pumasfs.base.relpath import is_safe_relpath
from pumasfs.planning.link_types import LINK_TYPES

if TYPE_CHECKING:
    from pumasfs.planning.plan import PlanEntry

    from .fsinfo import Mount

# The names users choose (apps.LINK_TYPES, the one list): "auto", then the kinds.
AUTO, RELATIVE, ABSOLUTE, HARDLINK = LINK_TYPES


class LinkSpec(NamedTuple):
    """One link: where (app-relative), what (library-relative source) and how to recognise it.

    A NamedTuple rather than a dataclass: a 10,000-link plan builds 10,000 of
    them, and comparing two is one tuple comparison.
    """

    path: str
    model_id: str
    source: str
    kind: str
    target: str | None = None  # symlinks: exactly what os.readlink returns
    dev: int | None = None  # hardlinks: the library file's identity
    ino: int | None = None

    @property
    def link_type(self) -> str:
        return "symlink" if LINK_KINDS[self.kind].symlink else "hardlink"

    @property
    def is_external(self) -> bool:
        return LINK_KINDS[self.kind].external

    def same_as(self, other: LinkSpec) -> bool:
        """Same link, wherever it is: everything but the path."""
        return self[1:] == other[1:]


class UnsafePath(PumasError):
    """A plan path that would leave its folder; the entry is refused, the rest goes on."""


def check_relpath(p: str, what: str) -> str:
    """A posix path that stays inside its base: no absolute, empty, '.' or '..' parts."""
    if not is_safe_relpath(p):
        raise UnsafePath(f"unsafe {what} path {p!r} in plan")
    return p


def temp_path(abs_path: str) -> str:
    d, _, name = abs_path.rpartition("/")
    return f"{d}/.{name}{TMP_SUFFIX}"


# -- what is on disk --------------------------------------------------------------


def on_disk_matches(spec: LinkSpec, abs_path: str) -> bool:
    """True when the disk still holds exactly what ``spec`` says we wrote."""
    return LINK_KINDS[spec.kind].matches(spec, abs_path)


def open_dir(path: str) -> int | None:
    """A handle on a folder for ``dir_fd`` calls (None if it cannot be opened; the caller then uses
    whole paths).  Ten thousand lstats or readlinks in one folder tree cost 10-20% less from
    its handle than each walking the whole path again."""
    try:
        return os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None


def describe(abs_path: str) -> str:
    """What sits at a path, in words, for conflict messages."""
    try:
        st = os.lstat(abs_path)
    except FileNotFoundError:
        return "nothing"
    except OSError as e:
        return f"unreadable ({e.strerror})"
    if stat.S_ISLNK(st.st_mode):
        try:
            return f"a symlink to {os.readlink(abs_path)!r} that pumas did not make"
        except OSError:
            return "a symlink pumas did not make"
    if stat.S_ISDIR(st.st_mode):
        return "a folder"
    if stat.S_ISREG(st.st_mode):
        return "a file" + (" (hardlinked elsewhere)" if st.st_nlink > 1 else "")
    return "a special file"


def make(spec: LinkSpec, abs_path: str, models_real: str) -> None:
    """Create the link; fails with FileExistsError rather than replace anything."""
    LINK_KINDS[spec.kind].make(spec, abs_path, models_real)


def _clear_temp(tmp: str, specs: tuple[LinkSpec, ...]) -> None:
    """Remove a temp link a killed run left behind; the ``.pumas-tmp`` name is ours, but check anyway."""
    try:
        st = os.lstat(tmp)
    except FileNotFoundError:
        return
    ours = stat.S_ISLNK(st.st_mode) or any(
        not LINK_KINDS[s.kind].symlink and (st.st_dev, st.st_ino) == (s.dev, s.ino) for s in specs
    )
    if not ours:
        raise FileExistsError(errno.EEXIST, "a file pumas did not make holds the temporary name", tmp)
    os.unlink(tmp)


def replace(spec: LinkSpec, abs_path: str, models_real: str, old: LinkSpec | None = None) -> None:
    """Swap in a new link atomically: make it under a temporary name, then rename over."""
    tmp = temp_path(abs_path)
    _clear_temp(tmp, (spec,) + ((old,) if old else ()))
    make(spec, tmp, models_real)
    try:
        os.replace(tmp, abs_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def sweep_temp(abs_path: str, specs: tuple[LinkSpec, ...]) -> bool:
    """After a crash: drop ``.<name>.pumas-tmp`` next to ``abs_path`` if it is ours."""
    try:
        _clear_temp(temp_path(abs_path), specs)
        return True
    except OSError:
        return False


# -- choosing the strategy ---------------------------------------------------------


def choose_kind(lib: Mount, lib_dev: int, folder: Mount, folder_dev: int, override: str | None,
                folder_path: str) -> tuple[str, str | None]:
    """The strategy for links in one folder, and a warning to show, if any."""
    if not folder.supports_links:
        raise PumasError(
            f"cannot link into {folder_path}: {folder.kind} ({folder.mountpoint}) supports neither symlinks "
            f"nor hardlinks; use `pumas mount` or move the app to another drive"
        )
    same = lib_dev == folder_dev
    if override in (None, "", AUTO):
        if same:
            return (HARDLINK if folder.is_ntfs else RELATIVE), None
        kind = ABSOLUTE
    elif override in LINK_KINDS:
        kind = override
        if LINK_KINDS[kind].same_filesystem and not same:
            raise PumasError(
                f"--link-type hardlink needs the library and {folder_path} on one filesystem "
                f"(library: {lib.describe()}; app: {folder.describe()})"
            )
    else:
        raise PumasError(f"unknown link type {override!r} (choose: {', '.join(LINK_TYPES)})")
    warning = None
    if not same and not LINK_KINDS[kind].same_filesystem:
        warning = (
            f"{folder_path} is on another filesystem than the library: links point at "
            f"{lib.source} mounted at {lib.mountpoint}, which must stay mounted for the app to see its models"
        )
    return kind, warning


@dataclass(frozen=True)
class Folder:
    real: str  # the folder's real path (even if it does not exist yet)
    kind: str
    prefix: str  # for relative links: path from this folder to the library's models dir


class Targets:
    """Plan entries -> link specs for one app, with the strategy chosen per folder."""

    def __init__(self, models_dir: Path, base: Path, override: str | None = None) -> None:
        self.models_real = os.path.realpath(models_dir)
        self.base = str(base)
        self.override = override
        self.lib_dev = os.stat(self.models_real).st_dev
        from .fsinfo import mount_of, mounts  # reads /proc: only when links are planned

        self._mounts = mounts()
        self.lib_mount = mount_of(self.models_real, self._mounts)
        self._folders: dict[str, Folder] = {}
        self.warnings: list[str] = []
        self.kinds: set[str] = set()
        self._warned: set[str] = set()

    def folder(self, rel_dir: str) -> Folder:
        f = self._folders.get(rel_dir)
        if f is None:
            f = self._folders[rel_dir] = self._resolve(rel_dir)
        return f

    def _resolve(self, rel_dir: str) -> Folder:
        abs_dir = f"{self.base}/{rel_dir}" if rel_dir else self.base
        # The nearest existing ancestor decides the filesystem; the rest will be created.
        probe, rest = abs_dir, []
        while not os.path.isdir(probe):
            parent, _, name = probe.rpartition("/")
            if not parent or parent == probe:
                break
            rest.append(name)
            probe = parent
        real = os.path.realpath(probe)
        dev = os.stat(real).st_dev if os.path.isdir(real) else self.lib_dev
        real = "/".join([real.rstrip("/") or ""] + rest[::-1]) if rest else real
        if real.startswith(self.models_real + "/") or real == self.models_real:
            raise PumasError(f"{abs_dir} is inside the library; refusing to link the library into itself")
        from .fsinfo import mount_of

        mount = mount_of(real, self._mounts)
        kind, warning = choose_kind(self.lib_mount, self.lib_dev, mount, dev, self.override, abs_dir)
        if warning and mount.mountpoint not in self._warned:
            self._warned.add(mount.mountpoint)
            self.warnings.append(warning)
        self.kinds.add(kind)
        return Folder(real=real, kind=kind, prefix=os.path.relpath(self.models_real, real))

    def variants(self, spec: LinkSpec) -> list[LinkSpec]:
        """Every symlink we could have written at ``spec.path`` for its source (relative and absolute).

        A run killed while replacing links leaves some in the new form before
        the registry heard of it; recognising both forms lets the next sync
        finish the job instead of calling its own links foreign.
        """
        if not LINK_KINDS[spec.kind].symlink:
            return []
        f = self.folder(spec.path.rpartition("/")[0])
        return [kind.spec(self, f, spec.path, spec.model_id, spec.source)
                for kind in LINK_KINDS.values() if kind.symlink]

    def specs(self, path: str, model_id: str, source: str, is_dir: bool) -> list[LinkSpec]:
        check_relpath(path, "app")
        check_relpath(source, "source")
        rel_dir = path.rpartition("/")[0]
        f = self.folder(rel_dir)
        if f.kind in (RELATIVE, ABSOLUTE) and not os.path.lexists(f"{self.models_real}/{source}"):
            # A model listed whose folder is gone (moved to the trash by a killed `rm`, a
            # deleted folder): a link to it would dangle.  desired_links reports it.
            raise FileNotFoundError(errno.ENOENT, "no such file in the library", f"{self.models_real}/{source}")
        kind = LINK_KINDS[f.kind]
        if is_dir and not kind.links_folders:
            return self._hardlink_tree(path, model_id, source)
        return [kind.spec(self, f, path, model_id, source)]

    def specs_for(self, entries: Mapping[str, PlanEntry]) -> tuple[dict[str, LinkSpec], list[tuple[str, PlanEntry, Exception]]]:
        """Every entry's specs by app path (what :meth:`specs` gives, in plan order), and the
        entries refused, each with its reason (``UnsafePath`` or ``OSError``).

        The one-relative-symlink-per-entry case (nearly every entry) is done inline: a full plan
        has one per link, and the calls of :meth:`specs` were a third of its cost here.
        """
        out: dict[str, LinkSpec] = {}
        failed: list[tuple[str, PlanEntry, Exception]] = []
        lstat, new = os.lstat, tuple.__new__
        models = open_dir(self.models_real)  # each source's lstat walks from here, not from /
        try:
            for path, entry in entries.items():
                model_id, source, is_dir = entry
                # Both safe exactly when joined by "/" they are (an empty or absolute one gives "//").
                if not is_dir and models is not None and is_safe_relpath(f"{path}/{source}"):
                    f = self._folders.get(path.rpartition("/")[0])
                    if f is not None and f.kind == RELATIVE:
                        try:
                            lstat(source, dir_fd=models)
                        except OSError:
                            pass  # said by specs() below, in its words
                        else:
                            # tuple.__new__: a NamedTuple's own __new__ is a Python function (5 ms here)
                            out[path] = new(LinkSpec, (path, model_id, source, RELATIVE, f"{f.prefix}/{source}",
                                                       None, None))
                            continue
                try:
                    for s in self.specs(path, model_id, source, is_dir):
                        out[s.path] = s
                except (UnsafePath, OSError) as e:
                    failed.append((path, entry, e))
        finally:
            if models is not None:
                os.close(models)
        return out, failed

    def _hardlink_tree(self, path: str, model_id: str, source: str) -> list[LinkSpec]:
        """A folder cannot be hardlinked: mirror it as real folders of hardlinked files.

        metadata.json and overrides.json are left out: they are replaced on every
        edit (new inode), so a hardlink to them would go stale at once.
        """
        from pumasfs.store.metadata import METADATA_FILE, OVERRIDES_FILE

        top = f"{self.models_real}/{source}"
        out: list[LinkSpec] = []
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel = os.path.relpath(dirpath, top).replace(os.sep, "/")
            rel = "" if rel == "." else rel + "/"
            for name in sorted(filenames):
                if name.startswith(".") or (not rel and name in (METADATA_FILE, OVERRIDES_FILE)):
                    continue
                st = os.lstat(f"{dirpath}/{name}")
                if not stat.S_ISREG(st.st_mode):
                    continue
                out.append(LinkSpec(f"{path}/{rel}{name}", model_id, f"{source}/{rel}{name}", HARDLINK,
                                    dev=st.st_dev, ino=st.st_ino))
        return out


# -- the table ---------------------------------------------------------------------


def _symlink_matches(spec: LinkSpec, abs_path: str) -> bool:
    try:
        return os.readlink(abs_path) == spec.target
    except OSError:
        return False


def _hardlink_matches(spec: LinkSpec, abs_path: str) -> bool:
    # A hardlink whose library side is gone (link count 1) is no longer a link
    # we made: it is the last copy of the bytes, and nothing may delete it.
    try:
        st = os.lstat(abs_path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_dev == spec.dev and st.st_ino == spec.ino and st.st_nlink > 1


def _make_symlink(spec: LinkSpec, abs_path: str, models_real: str) -> None:
    assert spec.target is not None
    os.symlink(spec.target, abs_path)


def _make_hardlink(spec: LinkSpec, abs_path: str, models_real: str) -> None:
    os.link(f"{models_real}/{spec.source}", abs_path, follow_symlinks=False)


def _relative_spec(t: Targets, f: Folder, path: str, model_id: str, source: str) -> LinkSpec:
    return LinkSpec(path, model_id, source, RELATIVE, target=f"{f.prefix}/{source}")


def _absolute_spec(t: Targets, f: Folder, path: str, model_id: str, source: str) -> LinkSpec:
    return LinkSpec(path, model_id, source, ABSOLUTE, target=f"{t.models_real}/{source}")


def _hardlink_spec(t: Targets, f: Folder, path: str, model_id: str, source: str) -> LinkSpec:
    st = os.stat(f"{t.models_real}/{source}")
    return LinkSpec(path, model_id, source, HARDLINK, dev=st.st_dev, ino=st.st_ino)


@dataclass(frozen=True)
class LinkKind:
    """How one kind of link is built, made, recognised, and what it needs."""

    name: str
    spec: Callable[[Targets, Folder, str, str, str], LinkSpec]  # (targets, folder, path, model id, source)
    make: Callable[[LinkSpec, str, str], None]  # (spec, absolute path, library models dir); never replaces
    matches: Callable[[LinkSpec, str], bool]  # the disk holds exactly what the spec says we wrote
    symlink: bool  # recognised by its target text (else by the library file's identity)
    external: bool  # points outside its filesystem: the library's drive must stay mounted
    same_filesystem: bool  # needs the library and the link on one filesystem
    links_folders: bool  # a folder model is one link (else: real folders of links to each file)
    # Removal is the same for every kind: os.unlink, after ``matches``.


LINK_KINDS: dict[str, LinkKind] = {
    k.name: k for k in (
        LinkKind(RELATIVE, _relative_spec, _make_symlink, _symlink_matches, symlink=True, external=False,
                 same_filesystem=False, links_folders=True),
        LinkKind(ABSOLUTE, _absolute_spec, _make_symlink, _symlink_matches, symlink=True, external=True,
                 same_filesystem=False, links_folders=True),
        LinkKind(HARDLINK, _hardlink_spec, _make_hardlink, _hardlink_matches, symlink=False, external=False,
                 same_filesystem=True, links_folders=False),
    )
}
KINDS = tuple(LINK_KINDS)
assert (AUTO, *KINDS) == LINK_TYPES, "apps.LINK_TYPES and the table must name the same kinds"
