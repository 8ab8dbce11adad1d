"""Where everything lives inside a library root.

The layout is the Pumas launcher's, so an existing launcher folder works as a
root unchanged.  The root itself comes from, in order of precedence: the
``--root`` flag, ``$PUMAS_HOME``, then ``$XDG_DATA_HOME/pumas``
(``~/.local/share/pumas``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

LIBRARY_MARKER = ".pumas-library.json"  # the library's id, at its root and in its models folder
JOURNAL_DIR = ".journal"  # in the models folder: intents of changes made in several steps


def default_root(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("PUMAS_HOME"):
        return Path(env["PUMAS_HOME"]).expanduser()
    xdg = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(xdg) / "pumas"


def resolve_root(flag: str | os.PathLike[str] | None, environ: dict[str, str] | None = None) -> Path:
    """A flag wins over the environment, which wins over the XDG default."""
    root = Path(flag).expanduser() if flag else default_root(environ)
    return root.absolute()


@dataclass(frozen=True)
class Layout:
    """Every well-known path under one library root."""

    root: Path

    @property
    def models_dir(self) -> Path:
        return self.root / "shared-resources" / "models"

    @property
    def index_db(self) -> Path:
        return self.models_dir / "models.db"

    @property
    def staging_dir(self) -> Path:
        # Inside models_dir so that staging and library share a filesystem and
        # the final step of every import is a rename.
        return self.models_dir / ".downloads"

    @property
    def launcher_data(self) -> Path:
        return self.root / "launcher-data"

    @property
    def registry_db(self) -> Path:
        return self.launcher_data / "db" / "registry.db"

    @property
    def config_dir(self) -> Path:
        return self.launcher_data / "config"

    @property
    def maps_dir(self) -> Path:
        return self.config_dir / "model-library-translation"

    @property
    def apps_file(self) -> Path:
        return self.config_dir / "apps.json"

    @property
    def cache_dir(self) -> Path:
        return self.launcher_data / "cache"

    @property
    def run_dir(self) -> Path:
        """Per-root runtime state (mount daemons' pid files, locks)."""
        return self.launcher_data / "run"

    @property
    def comfyui_versions_dir(self) -> Path:
        return self.root / "comfyui-versions"

    def model_dir(self, model_id: str) -> Path:
        return self.models_dir / model_id

    def ensure(self) -> Layout:
        for d in (self.models_dir, self.staging_dir, self.registry_db.parent, self.maps_dir, self.run_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self
