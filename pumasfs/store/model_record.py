"""What the index hands the planner about one model: its metadata and its overrides.json state.

The library and its index build these (``library.records``, ``index.records``);
the planner reads them.  Kept apart from the Plan so the library and index do
not depend on the planning layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from pumasfs.store.metadata import ModelMetadata, Overrides


@dataclass(frozen=True)
class ModelRecord:
    """What the planner reads about one model: its metadata and its overrides.json state."""

    meta: ModelMetadata
    overrides: Overrides | None = None
    overrides_error: str | None = None  # an invalid overrides.json excludes the model

    @property
    def model_id(self) -> str:
        return self.meta.model_id
