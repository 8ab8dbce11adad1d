"""A library knows itself: a marker with its id at the root and in the models folder.

Drives get unplugged.  A models folder on a drive that is not mounted is an
empty folder (a mount point) or no folder at all; a root on such a drive is
an empty mount point, or missing under a parent that exists.  Acting on that
stand-in would be a disaster that looks like success: a sync that sees an
empty library removes every app link, an import fills the system disk.  So:

* ``<root>/.pumas-library.json`` and ``<models>/.pumas-library.json`` carry
  the same random id, written when the library is created (or, for a library
  made before markers existed, the first time this version opens it);
* every open checks both: a models folder that is missing, lacks the marker
  or carries another library's id is refused with a line naming it;
* each user remembers the libraries they have used (``$XDG_STATE_HOME/pumas/
  libraries.json``): a remembered root that is now empty or gone is refused
  instead of silently starting a new library there.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from pydantic import BaseModel, ValidationError

from pumasfs.base.atomic import write_bytes
from pumasfs.base.errors import PumasError
from pumasfs.base.paths import LIBRARY_MARKER, Layout
from pumasfs.store.metadata import utcnow

MARKER = LIBRARY_MARKER


class Marker(BaseModel):
    id: str
    created: str
    role: str = "root"  # "root" | "models"


class KnownLibraries(BaseModel):
    """Every library root this user has opened -> its id."""

    roots: dict[str, str] = {}


def known_file(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "pumas" / "libraries.json"


def read_marker(folder: Path) -> Marker | None:
    try:
        return Marker.model_validate_json((folder / MARKER).read_bytes())
    except (OSError, ValidationError, ValueError):
        return None


def _write(folder: Path, marker: Marker) -> None:
    try:
        write_bytes(folder / MARKER, marker.model_dump_json(indent=2).encode())
    except OSError:
        pass  # a read-only library (a mounted backup): it can be read without its marker


def _load_known() -> KnownLibraries:
    try:
        return KnownLibraries.model_validate_json(known_file().read_bytes())
    except (OSError, ValidationError, ValueError):
        return KnownLibraries()


def known_roots() -> list[Path]:
    """The library roots this user has opened (``pumas mounts --all`` reads their views)."""
    return [Path(r) for r in _load_known().roots]


def _remember(root: Path, library_id: str) -> None:
    known = _load_known()
    if known.roots.get(str(root)) == library_id:
        return
    known.roots[str(root)] = library_id
    path = known_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, known.model_dump_json(indent=2).encode())
    except OSError:
        pass  # no writable home: the markers still protect the models folder


def _is_empty(folder: Path) -> bool:
    try:
        return not any(os.scandir(folder))
    except OSError:
        return True


def missing_root_check(root: Path) -> None:
    """A root this user has used before that is gone or empty now: its drive is not mounted."""
    known_id = _load_known().roots.get(str(root))
    if known_id is not None and (not root.exists() or _is_empty(root)):
        raise PumasError(
            f"library {root} is not there (is its drive mounted?); if it is gone for good, remove it from "
            f"{known_file()} to start a new library there"
        )


def check_library(layout: Layout) -> str:
    """Make sure ``layout`` is this library, whole; create the markers of a new (or older) one.  Returns its id."""
    root, models = layout.root, layout.models_dir
    missing_root_check(root)
    mine = read_marker(root)
    if mine is None:
        # A new library, or one made before markers: it is this one from now on.  Unless it has
        # apps linked to it but no index at all: that is a used library whose models drive is
        # not mounted, and marking its empty stand-in would make every link look stale.
        theirs = read_marker(models) if models.is_dir() else None
        if theirs is None and layout.registry_db.exists() and not layout.index_db.exists():
            raise PumasError(
                f"the models folder of library {root} has no index although apps are linked to it: "
                f"{models} (is its drive mounted?)"
            )
        library_id = theirs.id if theirs else uuid.uuid4().hex
        models.mkdir(parents=True, exist_ok=True)
        if theirs is None:
            _write(models, Marker(id=library_id, created=utcnow(), role="models"))
        _write(root, Marker(id=library_id, created=utcnow()))
        _remember(root, library_id)
        return library_id
    if not models.is_dir():
        raise PumasError(f"the models folder of library {root} is missing: {models} (is its drive mounted?)")
    theirs = read_marker(models)
    if theirs is None:
        raise PumasError(
            f"{models} is not the models folder of library {root} (its marker {MARKER} is missing): "
            "is its drive mounted?"
        )
    if theirs.id != mine.id:
        raise PumasError(f"{models} belongs to another library (id {theirs.id}, not {mine.id}): is the right drive mounted?")
    _remember(root, mine.id)
    return mine.id
