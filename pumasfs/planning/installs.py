"""App installs: the record of which apps pumas feeds, and its reads and writes.

An install is registered once (``pumas app add``) and recorded in
``launcher-data/config/apps.json``.  Everything about an install that the
planner needs (kind, version, name) is stored there; everything that can be
read from the install itself (its model folders: ``model_folders.py``; its
sandbox: ``sandbox.py``) is read fresh from disk when asked, so that a custom
node adding ``models/ipadapter`` is seen without re-registering.

Commands about exactly one install (``app show``, ``app remove``) use
``get_app``, which only takes names; selectors that also take a kind are
``app_discovery.resolve_apps``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pumasfs.base import atomic, locks
from pumasfs.base.errors import Conflict, NotFound, PumasError
from pumasfs.base.jsonfile import read_model
from pumasfs.base.paths import Layout
from pumasfs.base.relpath import is_under
from pumasfs.planning.app_versions import read_app_version
from pumasfs.planning.link_types import LINK_TYPES
from pumasfs.store.metadata import utcnow

APPS_SCHEMA = 1
LinkType = Literal["auto", "relative-symlink", "absolute-symlink", "hardlink"]
# How an install is shown the plan (see pumasfs/planning/install_mode.py): links in its
# models folder, links in a tree outside it named by extra_model_paths.yaml,
# or a FUSE content view mounted on that tree.
InstallMode = Literal["links", "yaml", "view"]
INSTALL_MODES: tuple[str, ...] = ("links", "yaml", "view")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


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
    variant: str = "default"  # which map variant the install wants (map_selection.select_map)
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
def apps_locked(layout: Layout) -> Iterator[None]:
    """Serialize read-modify-write of apps.json between processes."""
    with locks.exclusive(layout.config_dir / ".apps.lock"):
        yield


def update_app(layout: Layout, name: str, **changes: object) -> AppInstall:
    """Change fields of one install in apps.json (read-modify-write under the lock)."""
    with apps_locked(layout):
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


def same_path(a: Path, b: Path) -> bool:
    """One folder under two spellings (a symlink, a trailing part); by name when either is gone."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(os.path.realpath(a)) == Path(os.path.realpath(b))


def free_name(kind: str, taken: set[str]) -> str:
    """``kind`` itself, or ``kind-2``, ``kind-3``... whichever is not taken yet."""
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
    with apps_locked(layout):
        apps = load_apps(layout)
        for other in apps.apps:
            if same_path(other.path, root):
                raise Conflict(f"{root} is already registered as {other.name!r}")
        taken = {a.name for a in apps.apps}
        if name is None:
            name = free_name(kind, taken)
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
        apps.ignored_paths = [p for p in apps.ignored_paths if not same_path(Path(p), root)]
        save_apps(layout, apps)
    return app


def remove_app_record(layout: Layout, name: str) -> bool:
    """Forget an install (its links must be gone first: see materializer.api.uninstall)."""
    with apps_locked(layout):
        apps = load_apps(layout)
        kept = [a for a in apps.apps if a.name != name]
        if len(kept) == len(apps.apps):
            return False
        for gone in apps.apps:
            if gone.name == name and is_under(gone.path, layout.comfyui_versions_dir):
                apps.ignored_paths.append(str(gone.path))
        apps.apps = kept
        save_apps(layout, apps)
    return True
