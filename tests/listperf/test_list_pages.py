"""`pumas list` pages: the first page reads only its own rows and links, and says the same as a
whole listing does about those rows (USED BY, totals, filters, search)."""

from __future__ import annotations

from pathlib import Path

from pumasfs.store.library import Library
from pumasfs.usecases import apps as app_uc
from pumasfs.usecases import listing as uc
from pumasfs.usecases import sync as sync_uc
from pumasfs.usecases.workspace import Workspace
from tests.support.comfyui import make_comfyui
from tests.support.models import add_model


def _library_with_an_app(library: Library, tmp_path: Path) -> Workspace:
    for i, family in enumerate(("sd1", "sdxl", "sd1", "flux", "sdxl")):
        add_model(library, f"m{i}", family=family, subtype="loras" if i % 2 else "checkpoints",
                  tags=["pony"] if i == 3 else ())
    ws = Workspace(library.layout.root)
    app_uc.add_app(ws, "comfyui", make_comfyui(tmp_path / "ComfyUI"))
    sync_uc.materialize(ws, "comfyui")
    return ws


def test_a_page_has_the_same_rows_and_used_by_as_the_whole_listing(library: Library, tmp_path: Path):
    ws = _library_with_an_app(library, tmp_path)
    try:
        whole = uc.list_rows(ws)
        assert all(r.used_by == ["comfyui"] for r in whole.rows) and len(whole.rows) == 5
        pages = [uc.list_rows(ws, page=(2, at)) for at in (0, 2, 4)]
        assert [r.model_id for p in pages for r in p.rows] == [r.model_id for r in whole.rows]
        assert [r.used_by for p in pages for r in p.rows] == [r.used_by for r in whole.rows]
        assert {(p.total_models, p.matching) for p in pages} == {(5, 5)}
    finally:
        ws.close()


def test_filters_and_search_page_and_count_alike(library: Library, tmp_path: Path):
    ws = _library_with_an_app(library, tmp_path)
    try:
        sdxl = uc.list_rows(ws, uc.ModelFilter(family="SDXL"), page=(1, 0))
        assert [r.model_id for r in sdxl.rows] == ["diffusion/sdxl/m1"]
        assert (sdxl.matching, sdxl.total_models) == (2, 5)
        found = uc.list_rows(ws, uc.ModelFilter(search="PON"), page=(10, 0))
        assert [r.model_id for r in found.rows] == ["diffusion/flux/m3"] and found.matching == 1
        both = uc.list_rows(ws, uc.ModelFilter(family="sd1", search="m"), page=(1, 1))
        assert [r.model_id for r in both.rows] == ["diffusion/sd1/m2"] and both.matching == 2
        assert ws.reading_index().count_matching(family="sd1", search="zzz") == 0
    finally:
        ws.close()


def test_the_cli_pages_with_used_by(library: Library, tmp_path: Path, pumas):
    _library_with_an_app(library, tmp_path).close()
    out = pumas("list", "--limit", "2", "--offset", "1").stdout
    lines = out.splitlines()
    assert [ln.split()[0] for ln in lines[1:3]] == ["diffusion/sd1/m0", "diffusion/sd1/m2"]
    assert all(ln.rstrip().endswith("comfyui") for ln in lines[1:3])
    assert "(2-3 of 5; --offset 3 for more)" in lines[-1]
