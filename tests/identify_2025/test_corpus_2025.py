"""2025-26 architectures (video DiTs, new image DiTs, their VAEs/encoders/adapters, audio, GGUF):
every real layout lands in the folder a loader that understands it reads, with its family, variant
and size, exact parameter counts, and only its header read."""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict

import pytest

from pumasfs.identify import identify_path
from tests.corpus.corpus_2025 import load_layouts_2025

LAYOUTS = load_layouts_2025()


def expected_params(layout: dict) -> int:
    tensors = layout.get("tensors") or [x for m in layout.get("members", {}).values() for x in m.get("tensors", [])]
    return sum(math.prod(s) for _, _, s in tensors)


def _family_ok(rec, e) -> bool:
    return rec.family == e["family"] or rec.family in e.get("family_any", [])


def _check(rec, e) -> dict[str, bool | None]:
    """Per aspect: True/False, or None where the corpus expects nothing of that aspect."""
    return {
        "folder": rec.subtype == e["subtype"] and rec.model_type == e["model_type"],
        "family": _family_ok(rec, e),
        "variant": None if e["variant"] is None else rec.variant == e["variant"],
        "size": None if not e.get("size") else getattr(rec, "size", None) == e["size"],
        "releases": None if not e.get("releases") else set(e["releases"]) <= set(getattr(rec, "releases", []) or []),
    }


@pytest.mark.parametrize("lid", [l["id"] for l in LAYOUTS])
def test_layout_2025(corpus_2025, lid):
    layout, path = corpus_2025[lid]
    e = layout["expect"]
    rec = identify_path(path)
    got = _check(rec, e)
    why = (rec.model_type, rec.subtype, rec.family, rec.variant, getattr(rec, "size", None), rec.evidence, rec.warnings)
    assert all(v is not False for v in got.values()), (got, why)
    assert rec.param_count == expected_params(layout), "parameter count is exact"
    if e.get("precision"):
        assert rec.precision == e["precision"]
    assert rec.evidence, "every verdict says why"
    if e.get("releases") or not e["header_decides"]:
        # the header cannot decide between releases / families: never a silent guess
        assert rec.warnings or any("file name" in x for x in rec.evidence), why


def accuracy(corpus) -> dict[str, dict[str, list[int]]]:
    tables: dict[str, dict[str, list[int]]] = {a: defaultdict(lambda: [0, 0]) for a in ("folder", "family", "variant", "size")}
    for layout, path in corpus.values():
        e = layout["expect"]
        got = _check(identify_path(path), e)
        keys = {"folder": e["subtype"] or "(llm)", "family": e["family"], "variant": f'{e["family"]}:{e["variant"]}',
                "size": f'{e["family"]}:{e.get("size")}'}
        for aspect, key in keys.items():
            if got[aspect] is None:
                continue
            row = tables[aspect][key]
            row[0] += 1
            row[1] += bool(got[aspect])
    return tables


def test_accuracy_tables(corpus_2025, capsys):
    tables = accuracy(corpus_2025)
    totals = {}
    with capsys.disabled():
        for aspect, rows in tables.items():
            n = sum(r[0] for r in rows.values())
            ok = sum(r[1] for r in rows.values())
            totals[aspect] = (ok, n)
            print(f"\n{aspect:34s} right/samples")
            for k in sorted(rows):
                print(f"  {k:32s} {rows[k][1]:3d}/{rows[k][0]}")
            print(f"  {'TOTAL':32s} {ok:3d}/{n}")
    for aspect, (ok, n) in totals.items():
        assert ok == n, f"{aspect}: {ok}/{n}"


def test_header_only_speed(corpus_2025):
    """Hundreds of GB of (sparse) weights identified in a few seconds: only headers are read."""
    paths = [p for _, p in corpus_2025.values()]
    apparent = sum(os.stat(p).st_size for p in paths if p.is_file())
    t0 = time.perf_counter()
    for p in paths:
        identify_path(p)
    dt = time.perf_counter() - t0
    print(f"\n{len(paths)} files, {apparent / 1e9:.0f} GB apparent, identified in {dt:.2f} s")
    assert apparent > 300e9
    assert dt < 10.0
