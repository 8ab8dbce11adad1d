"""App installs: which apps pumas feeds, where they live, and what they run.

An install is registered once (``pumas app add``) and recorded in
``launcher-data/config/apps.json``.  Everything about an install that the
planner needs (kind, version, name) is stored there; everything that can be
read from the install itself (its model folders, its sandbox) is read fresh
from disk when asked, so that a custom node adding ``models/ipadapter`` is
seen without re-registering.

Selectors: ``resolve_apps`` takes an install name or a kind.  A kind means
*every* install of that kind, even though the first install of a kind is
named after it: ``pumas sync comfyui`` syncs all ComfyUI installs.  Commands
about exactly one install (``app show``, ``app remove``) use ``get_app``,
which only takes names.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import atomic, locks
from .errors import Conflict, NotFound, PumasError
from .jsonfile import read_model
from .link_types import LINK_TYPES
from .metadata import utcnow
from .paths import Layout

APPS_SCHEMA = 1
LinkType = Literal["auto", "relative-symlink", "absolute-symlink", "hardlink"]
# How an install is shown the plan (see pumasfs/install_mode.py): links in its
# models folder, links in a tree outside it named by extra_model_paths.yaml,
# or a FUSE content view mounted on that tree.
InstallMode = Literal["links", "yaml", "view"]
INSTALL_MODES: tuple[str, ...] = ("links", "yaml", "view")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_COMFY_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)
# Discovery stops here: model folders are shallow, and a runaway walk into a
# user's nested archive helps nobody.
_MAX_DISCOVERY_DEPTH = 4
_SKIP_DIRS = frozenset({"__pycache__", "node_modules"})


class ExtraPathsRecord(BaseModel):
    """What pumas did to an install's extra_model_paths.yaml, so that it can undo exactly that."""

    model_config = ConfigDict(extra="allow")

    file: Path  # absolute path of the yaml we edited
    created: bool = False  # the file did not exist: delete it once our section is gone and it is empty
    joiner: str = ""  # bytes we added in front of our appended section (removed with it)


class AppInstall(BaseModel):
    """One registered install of an app (apps.json entry; unknown keys kept)."""

    model_config = ConfigDict(extra="allow")

    name: str
    kind: str
    path: Path  # absolute install root
    models_dir: Path | None = None  # absolute; None means <path>/models
    version: str | None = None
    link_type: LinkType = "auto"
    variant: str = "default"  # which map variant the install wants (maps.select_map)
    added_date: str = Field(default_factory=utcnow)
    # Additive fields of the yaml/view modes (issue 18); absent in older apps.json = links.
    mode: InstallMode = "links"
    tree_dir: Path | None = None  # absolute; where the plan is built in yaml/view mode
    extra_paths: ExtraPathsRecord | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"app name {v!r} must be letters, digits, '.', '_' or '-' (at most 64)")
        return v

    @field_validator("path", "models_dir", "tree_dir")
    @classmethod
    def _absolute(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_absolute():
            raise ValueError(f"{v} is not an absolute path")
        return v

    def model_post_init(self, _context: object) -> None:
        if self.models_dir is None:
            self.models_dir = self.path / "models"

    @property
    def models_path(self) -> Path:
        assert self.models_dir is not None
        return self.models_dir

    def base_dir(self, base: str = "models") -> Path:
        """The folder a map's paths are relative to.

        ``"models"`` is the install's models folder (wherever the user put
        it); anything else is relative to the install root (``"."`` for
        A1111, whose ``embeddings/`` sits beside ``models/``).
        """
        if base == "models":
            return self.models_path
        return self.path if base in ("", ".") else self.path / base

    def plan_dir(self, base: str = "models") -> Path:
        """Where the plan for this install is built: its own folder (links) or its tree (yaml, view).

        A tree stands for the models folder, so a map whose paths are relative
        to ``models`` lands at the tree's root.  Without a recorded tree a
        yaml/view install refuses rather than fall back to writing into the
        app, which is what the user chose those modes to avoid.
        """
        if self.mode == "links":
            return self.base_dir(base)
        if self.tree_dir is None:
            raise PumasError(f"{self.name} is in {self.mode} mode but has no tree recorded; "
                             f"run `pumas app set {self.name} --mode {self.mode}`")
        if base != "models":
            raise PumasError(f"{self.name}: {self.mode} mode needs a map whose paths are relative to models/ "
                             f"(this one uses base {base!r})")
        return self.tree_dir

    def label(self) -> str:
        return f"{self.name} ({self.kind} {self.version or 'version unknown'})"


class AppsFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_version: int = APPS_SCHEMA
    apps: list[AppInstall] = Field(default_factory=list)
    # Installs under comfyui-versions/ the user removed: autodiscovery must not bring them back.
    ignored_paths: list[str] = Field(default_factory=list)


# -- the apps file -----------------------------------------------------------


def load_apps(layout: Layout) -> AppsFile:
    return read_model(layout.apps_file, AppsFile) or AppsFile()


def save_apps(layout: Layout, apps: AppsFile) -> None:
    layout.apps_file.parent.mkdir(parents=True, exist_ok=True)
    data = apps.model_dump_json(indent=2) + "\n"
    atomic.write_bytes(layout.apps_file, data.encode("utf-8"))


@contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    """Serialize read-modify-write of apps.json between processes."""
    with locks.exclusive(layout.config_dir / ".apps.lock"):
        yield


def update_app(layout: Layout, name: str, **changes: object) -> AppInstall:
    """Change fields of one install in apps.json (read-modify-write under the lock)."""
    with _locked(layout):
        apps = load_apps(layout)
        for i, app in enumerate(apps.apps):
            if app.name == name:
                apps.apps[i] = app.model_copy(update=changes)
                save_apps(layout, apps)
                return apps.apps[i]
    raise NotFound(f"no app install named {name!r} (see `pumas app list`)")


def get_app(layout: Layout, name: str) -> AppInstall:
    for app in load_apps(layout).apps:
        if app.name == name:
            return app
    raise NotFound(f"no app install named {name!r} (see `pumas app list`)")


def resolve_apps(layout: Layout, selector: str) -> list[AppInstall]:
    """A kind selects every install of that kind; otherwise an install's name.

    ComfyUI installs under ``<root>/comfyui-versions/`` count as registered from
    the moment they exist, whichever command names them first.
    """
    autodiscover_comfyui(layout)
    apps = load_apps(layout).apps
    of_kind = [a for a in apps if a.kind == selector]
    if of_kind:
        return of_kind
    named = [a for a in apps if a.name == selector]
    if named:
        return named
    known = ", ".join(sorted({a.name for a in apps} | {a.kind for a in apps})) or "none registered"
    raise NotFound(f"no app install or kind {selector!r} (known: {known}; see `pumas app add`)")


def _same_path(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(os.path.realpath(a)) == Path(os.path.realpath(b))


def _free_name(kind: str, taken: set[str]) -> str:
    if kind not in taken:
        return kind
    i = 2
    while f"{kind}-{i}" in taken:
        i += 1
    return f"{kind}-{i}"


def add_app(
    layout: Layout,
    kind: str,
    path: str | os.PathLike[str],
    name: str | None = None,
    version: str | None = None,
    *,
    link_type: str = "auto",
    known_kinds: set[str] | None = None,
) -> AppInstall:
    """Register an install; creates nothing in the app's folder.

    ``known_kinds`` (every kind some map exists for) is checked when given;
    the CLI passes it, library callers may skip it.
    """
    kind = kind.strip().lower()
    if known_kinds is not None and kind not in known_kinds:
        raise NotFound(
            f"unknown app kind {kind!r} (known: {', '.join(sorted(known_kinds))}; "
            "write a translation map for it first, see contrib/maps/README.md)"
        )
    if link_type not in LINK_TYPES:
        raise PumasError(f"link type must be one of {', '.join(LINK_TYPES)}, not {link_type!r}")
    root = Path(os.path.abspath(Path(path).expanduser()))
    if not root.exists():
        raise NotFound(f"{root} does not exist")
    if not root.is_dir():
        raise PumasError(f"{root} is not a folder")
    models = root / "models"
    if not models.is_dir():
        hint = " (is this the ComfyUI folder, the one holding main.py?)" if kind == "comfyui" else ""
        raise PumasError(f"{root} has no models/ folder{hint}; pumas creates nothing there, create it first")
    if version is None:
        version = read_app_version(kind, root)
    with _locked(layout):
        apps = load_apps(layout)
        for other in apps.apps:
            if _same_path(other.path, root):
                raise Conflict(f"{root} is already registered as {other.name!r}")
        taken = {a.name for a in apps.apps}
        if name is None:
            name = _free_name(kind, taken)
        elif name in taken:
            raise Conflict(f"an app install named {name!r} already exists")
        clash = {a.kind for a in apps.apps} | (known_kinds or set())
        if name in clash and name != kind:
            raise PumasError(f"{name!r} is an app kind; pick another name so selectors stay unambiguous")
        try:
            app = AppInstall(name=name, kind=kind, path=root, version=version, link_type=link_type)
        except ValidationError as e:
            raise PumasError(e.errors()[0]["msg"].removeprefix("Value error, ")) from None
        apps.apps.append(app)
        apps.ignored_paths = [p for p in apps.ignored_paths if not _same_path(Path(p), root)]
        save_apps(layout, apps)
    return app


def remove_app_record(layout: Layout, name: str) -> bool:
    """Forget an install (its links must be gone first: see materializer.api.uninstall)."""
    with _locked(layout):
        apps = load_apps(layout)
        kept = [a for a in apps.apps if a.name != name]
        if len(kept) == len(apps.apps):
            return False
        for gone in apps.apps:
            if gone.name == name and _under(gone.path, layout.comfyui_versions_dir):
                apps.ignored_paths.append(str(gone.path))
        apps.apps = kept
        save_apps(layout, apps)
    return True


# -- reading an install ------------------------------------------------------


def _clean_version(text: str) -> str | None:
    text = text.strip()
    if text[:1] in ("v", "V"):
        text = text[1:]
    try:
        Version(text)
    except InvalidVersion:
        return None
    return text


def _pyproject_version(root: Path) -> str | None:
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    version = data.get("project", {}).get("version")
    return _clean_version(version) if isinstance(version, str) else None


def read_app_version(kind: str, path: str | os.PathLike[str]) -> str | None:
    """The install's version, read from its own files; None when it does not say."""
    root = Path(path)
    if kind == "comfyui":
        try:
            m = _COMFY_VERSION.search((root / "comfyui_version.py").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            m = None
        if m and (v := _clean_version(m.group(1))):
            return v
    return _pyproject_version(root)


def discover_model_folders(app: AppInstall) -> list[str]:
    """The install's model folders, relative to its models dir (posix), sorted.

    A folder counts when it holds files (ComfyUI ships a ``put_*_here`` file
    in each) or has no subfolders; folders holding only folders are walked
    (``ultralytics/`` -> ``ultralytics/bbox``).  Symlinked folders are not
    followed: they may be links we made, and they are not the app's own.
    """
    out: list[str] = []

    def walk(d: Path, rel: str, depth: int) -> None:
        try:
            entries = list(os.scandir(d))
        except OSError:
            return
        subdirs = sorted(
            e.name for e in entries
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".") and e.name not in _SKIP_DIRS
        )
        has_files = any(not e.is_dir(follow_symlinks=False) and not e.name.startswith(".") for e in entries)
        if rel and (has_files or not subdirs or depth >= _MAX_DISCOVERY_DEPTH):
            out.append(rel)
            return
        for sub in subdirs:
            walk(d / sub, f"{rel}/{sub}" if rel else sub, depth + 1)

    walk(app.models_path, "", 0)
    return sorted(out)


def _version_key(v: str | None, fallback: str) -> tuple[int, Version, str]:
    try:
        return (0, Version(v or ""), fallback)
    except InvalidVersion:
        return (1, Version("0"), fallback)


def autodiscover_comfyui(layout: Layout) -> list[AppInstall]:
    """Register ComfyUI installs under ``<root>/comfyui-versions/*/`` not yet known.

    Each one added gets the default map ``pumas app add`` would write.

    Folders without ``models/`` are skipped silently (an install in
    progress).  The first ComfyUI install gets the name ``comfyui``, the
    others ``comfyui-<version>``.
    """
    base = layout.comfyui_versions_dir
    try:
        dirs = [d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")]
    except OSError:
        return []
    found = []
    for d in dirs:
        if (d / "models").is_dir():
            version = read_app_version("comfyui", d) or _clean_version(d.name)
            found.append((_version_key(version, d.name), d, version))
    if not found:
        return []
    added: list[AppInstall] = []
    with _locked(layout):
        apps = load_apps(layout)
        for _, d, version in sorted(found, key=lambda t: t[0]):
            root = Path(os.path.abspath(d))
            if any(_same_path(a.path, root) for a in apps.apps):
                continue
            if any(_same_path(Path(p), root) for p in apps.ignored_paths):
                continue
            taken = {a.name for a in apps.apps}
            if "comfyui" not in taken:
                name = "comfyui"
            else:
                name = _free_name(f"comfyui-{version or d.name}", taken)
            try:
                app = AppInstall(name=name, kind="comfyui", path=root, version=version)
            except ValidationError:
                app = AppInstall(name=_free_name("comfyui", taken), kind="comfyui", path=root, version=version)
            apps.apps.append(app)
            added.append(app)
        if added:
            save_apps(layout, apps)
    # Same map as `pumas app add` writes: an install's map must not depend on
    # which command (app add, materialize, sync, mount) saw it first.
    from .maps import ensure_default_map

    for app in added:
        ensure_default_map(layout, app)
    return added


# -- sandboxes ---------------------------------------------------------------

_CONTAINER_CGROUP = re.compile(r"docker|kubepods|containerd|libpod|lxc")


def _under(path: Path, parent: Path) -> bool:
    try:
        Path(os.path.abspath(path)).relative_to(os.path.abspath(parent))
    except ValueError:
        return False
    return True


def detect_sandbox(
    app: AppInstall,
    *,
    library_root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    system_root: Path = Path("/"),
) -> list[str]:
    """Warnings for sandboxes in which our symlinks would point nowhere.

    A sandboxed app sees only part of the host's filesystem, so a link to
    the library resolves only if the library is visible inside it too.
    ``environ`` and ``system_root`` exist so tests can fake a host.
    """
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    lib = str(library_root) if library_root else "the library root"
    content = "use `pumas mount --content` (a FUSE view serving file contents, not links)"
    warnings: list[str] = []

    flatpak_base = home / ".var" / "app"
    if _under(app.path, flatpak_base):
        rel = Path(os.path.abspath(app.path)).relative_to(os.path.abspath(flatpak_base))
        app_id = rel.parts[0] if rel.parts else "<app-id>"
        warnings.append(
            f"{app.name} lives inside a Flatpak sandbox ({flatpak_base}/{app_id}): symlinks to {lib} do not "
            f"resolve there unless it is exposed; run `flatpak override --user --filesystem={lib} {app_id}` "
            f"(a bind mount into the sandbox), or {content}"
        )
    if (system_root / ".flatpak-info").exists():
        warnings.append(
            f"pumas is running inside a Flatpak sandbox: the links it writes for {app.name} use paths as seen "
            f"in this sandbox; expose {lib} with `flatpak override --filesystem=...`, or {content}"
        )
    snap_base = home / "snap"
    if _under(app.path, snap_base):
        warnings.append(
            f"{app.name} lives inside a Snap's confined home ({snap_base}): symlinks to {lib} outside it do not "
            f"resolve for a strictly confined snap; {content}, or bind-mount {lib} into the snap's folder "
            "(`mount --bind`)"
        )
    if env.get("SNAP"):
        warnings.append(
            f"pumas is running inside a Snap ($SNAP={env['SNAP']}): links it writes may point to paths the "
            f"app cannot see; {content}, or bind-mount {lib} where the app can reach it"
        )
    container = None
    if (system_root / ".dockerenv").exists():
        container = "a Docker container (/.dockerenv)"
    elif (system_root / "run" / ".containerenv").exists():
        container = "a Podman container (/run/.containerenv)"
    else:
        try:
            cgroup = (system_root / "proc" / "1" / "cgroup").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cgroup = ""
        if m := _CONTAINER_CGROUP.search(cgroup):
            container = f"a container (cgroup mentions {m.group(0)})"
    if container:
        warnings.append(
            f"pumas is running inside {container}: if {app.name} runs elsewhere (the host or another "
            f"container), the symlinks pumas writes resolve only where {lib} has the same path; bind-mount it "
            f"at that path wherever the app runs (`-v {lib}:{lib}`), or {content}"
        )
    return warnings
