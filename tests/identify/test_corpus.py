"""Every stored real layout lands in the right folder, with the right family, and exact counts."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest

from pumasfs.identify import identify_path, vocab
from tests.corpus.samples import load_layouts, write_sample


def expected_params(layout: dict) -> int | None:
    """The exact parameter count of a layout: the sum of its shape products."""
    if "tensors" in layout:
        return sum(math.prod(s) for _, _, s in layout["tensors"])
    return None


LAYOUTS = load_layouts()
IDS = [l["id"] for l in LAYOUTS]


def _family_ok(rec, e) -> bool:
    return rec.family == e["family"] or rec.family in e.get("family_any", [])


@pytest.mark.parametrize("lid", IDS)
def test_layout(corpus, lid):
    layout, path = corpus[lid]
    e = layout["expect"]
    rec = identify_path(path)
    assert rec.subtype == e["subtype"], (rec.subtype, rec.evidence)
    assert rec.model_type == e["model_type"]
    if e["header_decides"] or e.get("family_any"):
        assert _family_ok(rec, e), (rec.family, rec.evidence, rec.warnings)
    if e["variant"] is not None:
        assert rec.variant == e["variant"], (rec.variant, rec.evidence)
    if e.get("precision"):
        assert rec.precision == e["precision"]
    n = expected_params(layout)
    if n is not None and layout["kind"] in ("safetensors", "gguf", "pickle-zip"):
        assert rec.param_count == n
    assert rec.evidence, "every verdict says why"
    assert 0.0 <= rec.confidence <= 1.0
    if not e["header_decides"] and not e.get("family_any"):
        # the header cannot decide: never a silent guess
        assert rec.warnings or any("file name" in x for x in rec.evidence), rec
    if layout["kind"] in ("pickle-zip", "torch-zip", "torch-legacy"):
        assert rec.unsafe_format and rec.format in (vocab.PICKLE, vocab.ZIP_PICKLE)
        assert rec.unsafe_globals == []  # torch.save of a state dict names only rebuild/container globals
    if e.get("incomplete"):
        assert any("incomplete" in w for w in rec.warnings)


def test_llms_never_in_an_image_folder(corpus):
    for lid, (layout, path) in corpus.items():
        rec = identify_path(path)
        if layout["expect"]["model_type"] == "llm":
            assert rec.model_type == "llm" and rec.subtype is None, lid


PRECISION_LAYOUTS = [(l["id"], p) for l in LAYOUTS for p in l.get("precisions", [])]


@pytest.mark.parametrize("lid,prec", PRECISION_LAYOUTS)
def test_precision_variants(tmp_path, lid, prec):
    layout = next(l for l in LAYOUTS if l["id"] == lid)
    path = write_sample(layout, tmp_path, precision=prec)
    rec = identify_path(path)
    assert rec.precision == vocab.PRECISION_OF_DTYPE[prec]
    assert rec.subtype == layout["expect"]["subtype"]
    assert rec.param_count == sum(math.prod(s) for _, _, s in layout["tensors"])


def test_accuracy_table(corpus, capsys):
    """The issue's goals over the whole corpus: >= 98 % right folder, >= 95 % right family."""
    per = defaultdict(lambda: [0, 0, 0, 0])  # samples, right folder, family-decidable, right family
    for lid, (layout, path) in corpus.items():
        e = layout["expect"]
        rec = identify_path(path)
        row = per[e["subtype"] or "(none: llm)"]
        row[0] += 1
        row[1] += rec.subtype == e["subtype"]
        if e["header_decides"]:
            row[2] += 1
            row[3] += _family_ok(rec, e)
    tot = [sum(r[i] for r in per.values()) for i in range(4)]
    with capsys.disabled():
        print("\nfolder               samples  folder-ok  family(decidable)-ok")
        for k in sorted(per):
            s, f, d, fo = per[k]
            print(f"{k:20s} {s:7d}  {f:9d}  {fo:4d}/{d}")
        print(f"{'TOTAL':20s} {tot[0]:7d}  {tot[1]:9d}  {tot[3]:4d}/{tot[2]}")
    assert tot[1] / tot[0] >= 0.98
    assert tot[3] / tot[2] >= 0.95
