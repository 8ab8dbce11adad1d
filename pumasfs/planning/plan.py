"""The Plan: what an app's models folder should contain.

One plan, two views.  The planner (``planner.py``) produces a :class:`Plan`
from the library index and a translation map; the materializer writes it as
links and the FUSE view serves it live.  Neither view knows how maps match,
and the planner knows nothing of links or FUSE.  A test compares both views
against the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from pumasfs.store.metadata import Overrides


class FileView(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...


class PinView(Protocol):
    @property
    def app(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def files(self) -> Mapping[str, str]: ...


class MetaView(Protocol):
    """What the planner reads of a model's metadata.

    ``ModelMetadata`` has all of it; a full sync decodes only this from the
    index (``plan_input.PlanFacts``), which halves the cost of reading
    10,000 rows.  A field the planner starts to read is added here, and
    mypy then asks for it in ``PlanFacts`` too.
    """

    @property
    def model_id(self) -> str: ...
    @property
    def model_type(self) -> str: ...
    @property
    def subtype(self) -> str | None: ...
    @property
    def family(self) -> str: ...
    @property
    def base_model(self) -> str | None: ...
    @property
    def format(self) -> str | None: ...
    @property
    def layout(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def cleaned_name(self) -> str: ...
    @property
    def original_name(self) -> str | None: ...
    @property
    def primary_file(self) -> str | None: ...
    @property
    def preview_image(self) -> str | None: ...
    @property
    def hub_repo(self) -> str | None: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def added_date(self) -> str: ...
    @property
    def files(self) -> Sequence[FileView]: ...
    @property
    def pins(self) -> Sequence[PinView]: ...
    def pins_of(self, app: str) -> Sequence[PinView]: ...
    def weight_files(self) -> Sequence[FileView]: ...


class RecordView(Protocol):
    """What the planner reads about one model: a :class:`ModelRecord` or a ``plan_input.PlanRecord``."""

    @property
    def meta(self) -> MetaView: ...
    @property
    def overrides(self) -> Overrides | None: ...
    @property
    def overrides_error(self) -> str | None: ...
    @property
    def model_id(self) -> str: ...



class PlanEntry(NamedTuple):
    """One entry of the desired tree (a tuple: a full plan makes one per link, and a stored plan
    (``materializer/plan_memo.py``) is read back as tuples).

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
