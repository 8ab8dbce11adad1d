"""Builders for the planner's tests: metadata records and a ComfyUI-like install tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from pumasfs.planning.installs import AppInstall
from pumasfs.store.metadata import FileEntry, ModelMetadata, Overrides
from pumasfs.store.model_record import ModelRecord
from tests.support.comfyui import COMFYUI_STANDARD, make_comfyui

__all__ = ["COMFYUI_STANDARD", "comfy_app", "make_comfyui", "record"]


@pytest.fixture
def comfy_tree(tmp_path: Path) -> Path:
    return make_comfyui(tmp_path / "ComfyUI", custom=("ipadapter", "ultralytics/bbox", "ultralytics/segm", "sams"))


def comfy_app(name: str = "comfyui", version: str | None = "0.3.64", path: str = "/srv/ComfyUI") -> AppInstall:
    return AppInstall(name=name, kind="comfyui", path=Path(path), version=version)


def record(
    model_id: str,
    subtype: str | None = "checkpoints",
    *,
    files: list[tuple[str, str]] | None = None,
    primary: str | None = None,
    added: str = "2024-01-01T00:00:00Z",
    layout: str = "file",
    overrides: dict | None = None,
    overrides_error: str | None = None,
    **fields,
) -> ModelRecord:
    model_type, family, cleaned = model_id.split("/")
    if files is None and layout == "file":
        files = [(f"{cleaned}.safetensors", "weights")]
    files = files or []
    if primary is None and layout == "file":
        primary = files[0][0]
    meta = ModelMetadata(
        model_id=model_id, model_type=model_type, family=family, cleaned_name=cleaned, official_name=cleaned,
        subtype=subtype, layout=layout, primary_file=primary, added_date=added,
        files=[FileEntry(name=n, original_name=n, size=10, role=r) for n, r in files],
        size_bytes=fields.pop("size_bytes", 10 * len(files)), **fields,
    )
    ov = Overrides.model_validate(overrides) if overrides is not None else None
    return ModelRecord(meta=meta, overrides=ov, overrides_error=overrides_error)
