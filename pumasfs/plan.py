"""The Plan: what an app's models folder should contain.

One plan, two views.  The planner (``planner.py``) produces a :class:`Plan`
from the library index and a translation map; the materializer writes it as
links and the FUSE view serves it live.  Neither view knows how maps match,
and the planner knows nothing of links or FUSE.  A test compares both views
against the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PlanEntry:
    """One entry of the desired tree.

    ``source`` is relative to the library's models dir (posix separators), e.g.
    ``diffusion/sd1/dreamshaper-8/dreamshaper-8.safetensors``; ``is_dir`` marks
    a folder model (Diffusers) that maps as a single directory entry.
    """

    model_id: str
    source: str
    is_dir: bool = False


@dataclass(frozen=True)
class Exclusion:
    model_id: str
    # "overrides", "overrides-invalid", "no-rule", "excluded-tag", "excluded-type",
    # "no-primary-file", "collision", "unsafe-path"
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Collision:
    """Two or more models wanted ``path``; ``winner`` kept it, the others were renamed."""

    path: str
    winner: str
    renamed: tuple[tuple[str, str], ...]  # (model_id, new path)


@dataclass
class Plan:
    """App-relative path (posix, relative to the app's models folder) -> entry.

    ``models`` is the set of model ids this plan was computed for: a full plan
    covers the whole library; an incremental plan only the changed models, and
    a consumer must leave entries of other models alone.
    """

    app: str
    entries: dict[str, PlanEntry] = field(default_factory=dict)
    excluded: list[Exclusion] = field(default_factory=list)
    collisions: list[Collision] = field(default_factory=list)
    models: frozenset[str] = frozenset()
    full: bool = True

    def folders(self) -> set[str]:
        """Every directory the tree needs above its entries (app-relative)."""
        out: set[str] = set()
        for path in self.entries:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                out.add("/".join(parts[:i]))
        return out

    def by_model(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for path, entry in self.entries.items():
            out.setdefault(entry.model_id, []).append(path)
        return out
