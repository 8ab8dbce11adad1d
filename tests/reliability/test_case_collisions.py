"""Names that differ only by letter case never become separate links in one app folder."""

from __future__ import annotations

from pathlib import Path

from tests.importer.helpers import lora
from tests.materializer.conftest import make_comfyui


def link_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_symlink())


def assert_case_distinct(names: list[str]) -> None:
    folded = [n.casefold() for n in names]
    assert len(set(folded)) == len(folded), names


def test_stems_that_differ_by_case_get_distinct_names(root: Path, tmp_path: Path, pumas):
    a = lora(tmp_path / "a" / "Detail.safetensors", 1)
    b = lora(tmp_path / "b" / "detail.safetensors", 2)
    c = lora(tmp_path / "c" / "DETAIL.safetensors", 3)
    (tmp_path / "a" / "Detail.preview.png").write_bytes(b"png-a")
    (tmp_path / "b" / "detail.preview.png").write_bytes(b"png-b")
    pumas("import", a)
    pumas("import", b)
    comfy = make_comfyui(tmp_path / "ComfyUI")
    pumas("app", "add", "comfyui", comfy)
    pumas("materialize", "comfyui")
    loras = comfy / "models" / "loras"
    names = link_names(loras)
    assert len([n for n in names if n.endswith(".safetensors")]) == 2
    assert_case_distinct(names)
    # The third arrives later: the incremental sync (after import) finds the case-only clash too.
    pumas("import", c)
    names = link_names(loras)
    assert len([n for n in names if n.endswith(".safetensors")]) == 3
    assert_case_distinct(names)
    # Each preview still sits beside its own weights.
    for n in names:
        if n.endswith(".preview.png"):
            stem = n[: -len(".preview.png")]
            assert f"{stem}.safetensors" in names
    # A full sync agrees with the incremental one.
    before = names
    pumas("materialize", "comfyui")
    assert link_names(loras) == before
