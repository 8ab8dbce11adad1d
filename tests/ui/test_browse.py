"""The paged browse use case behind the library page (no browser)."""

from __future__ import annotations

import sys
from pathlib import Path

from pumasfs.base.paths import Layout
from pumasfs.hub.badge import trust_badge
from pumasfs.store.library import Library
from pumasfs.usecases.browse import BrowseQuery, browse_models
from pumasfs.usecases.listing import list_models
from pumasfs.usecases.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_ui import build, record


def test_pages_cover_the_library_once_in_order_and_facets_count_right(tmp_path: Path) -> None:
    root = tmp_path / "root"
    build(root, 250)
    ws = Workspace(root)
    seen: list[str] = []
    page = 1
    while True:
        result = browse_models(ws, BrowseQuery(sort="-size", page=page, page_size=48), facets=page == 1)
        assert len(result.items) <= 48
        seen += [c.meta.model_id for c in result.items]
        if page == 1:
            facets = result.facets
        if page >= result.pages:
            break
        page += 1
    everything = list_models(ws)
    assert sorted(seen) == sorted(r.model_id for r in everything) and len(seen) == len(set(seen)) == 250
    sizes = {r.model_id: r.meta.size_bytes for r in everything}
    assert [sizes[m] for m in seen] == sorted(sizes.values(), reverse=True)
    # Every facet count is what filtering by it returns, and trust in SQL is trust_badge.
    for key, param in (("family", "family"), ("subtype", "subtype"), ("trust", "trust"), ("tag", "tag"),
                       ("base_model", "base_model"), ("app", "app")):
        assert facets[key], key
        for f in facets[key]:
            got = browse_models(ws, BrowseQuery(**{param: f.value}, page_size=200), facets=False)
            assert got.total == f.count, (key, f.value)
    for f in facets["trust"]:
        expect = sum(1 for r in everything if trust_badge(r.meta) == f.value)
        assert f.count == expect
    # Asking past the end answers the last page.
    last = browse_models(ws, BrowseQuery(page=999), facets=False)
    assert last.page == last.pages and last.items
    ws.close()


def test_filter_choices_follow_a_change_to_the_library(tmp_path: Path) -> None:
    root = tmp_path / "root"
    build(root, 20)
    ws = Workspace(root)
    before = browse_models(ws, BrowseQuery()).facets["family"]
    lib = Library(Layout(root))
    rec = record(10_000)
    rec.meta.family, rec.meta.model_id = "brand-new", "diffusion/brand-new/model-010000"
    with lib.index.transaction():
        lib.index.upsert(rec)
    lib.close()
    after = browse_models(ws, BrowseQuery()).facets["family"]
    assert "brand-new" not in [f.value for f in before]
    assert "brand-new" in [f.value for f in after]
    ws.close()
