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


def _truth(ws: Workspace) -> dict[str, dict[str, int]]:
    """The filter choices computed from the records themselves (metadata.json as read), not the index."""
    from collections import Counter

    from pumasfs.hub.badge import civitai_badge

    base: Counter[str] = Counter()
    trust: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    for r in list_models(ws):
        if r.meta.base_model:
            base[r.meta.base_model] += 1
        trust[trust_badge(r.meta)] += 1
        if (civ := civitai_badge(r.meta)) is not None:
            trust[civ] += 1
        tags.update(set(r.meta.tags))
    return {"base_model": dict(base), "trust": dict(trust), "tag": dict(tags)}


def _shown(ws: Workspace) -> dict[str, dict[str, int]]:
    facets = browse_models(ws, BrowseQuery()).facets
    return {k: {f.value: f.count for f in facets[k]} for k in ("base_model", "trust", "tag")}


def test_tag_base_model_and_trust_choices_follow_edits_and_removals(tmp_path: Path) -> None:
    """The choices counted from the index's facets and tags rows are those of the records after
    every kind of change: a model edited (new tags, one listed twice; another base model; a hash
    match; a CivitAI link of each kind), a model removed, a rebuild."""
    from pumasfs.store.metadata import CivitaiInfo

    root = tmp_path / "root"
    build(root, 40)
    ws = Workspace(root)
    assert _shown(ws) == _truth(ws)
    lib = Library(Layout(root))
    edited = [record(i) for i in (1, 2, 3)]
    edited[0].meta.tags = ["only-here", "only-here", "photo"]
    edited[0].meta.base_model = "Novel base"
    edited[1].meta.match_method = "filename_fuzzy"
    edited[1].meta.civitai = CivitaiInfo(model_id=7, version_id=70, trust="user")
    edited[2].meta.civitai = CivitaiInfo(model_id=8, version_id=80)
    edited[2].meta.hub_match = {"badge": "modified"}  # an open field
    with lib.index.transaction():
        for r in edited:
            lib.index.upsert(r)
        lib.index.remove(record(5).meta.model_id)
    shown, truth = _shown(ws), _truth(ws)
    assert shown == truth
    assert shown["tag"]["only-here"] == 1 and shown["base_model"]["Novel base"] == 1
    assert shown["trust"]["modified"] >= 1 and shown["trust"]["civitai-linked"] == 1
    assert shown["trust"]["civitai-verified"] == 1
    # Each choice finds exactly its models, through the same tables.
    for key, values in shown.items():
        for value, count in values.items():
            assert browse_models(ws, BrowseQuery(**{key: value}), facets=False).total == count, (key, value)
    lib.close()
    ws.close()
