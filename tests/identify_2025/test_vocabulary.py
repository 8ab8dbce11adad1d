"""Every family and variant identification gives (over both real-layout corpora) is in the published
vocabulary (pumasfs.identify.vocab), which `pumas edit` validates against; LLM families are open-ended."""

from __future__ import annotations

import re

from pumasfs.identify import identify_path, vocab
from tests.corpus.samples import load_layouts, write_sample


def test_every_name_given_is_in_the_vocabulary(corpus_2025, tmp_path):
    paths = [p for _, p in corpus_2025.values()]
    paths += [write_sample(l, tmp_path / l["id"]) for l in load_layouts()]
    seen_f, seen_v = set(), set()
    for p in paths:
        rec = identify_path(p)
        if rec.model_type != vocab.LLM and rec.family:
            seen_f.add(rec.family)
        if rec.variant:
            seen_v.add(rec.variant)
        assert rec.subtype is None or rec.subtype in vocab.SUBTYPES, rec.subtype
    assert seen_f - set(vocab.FAMILIES) == set()
    assert {v for v in seen_v if not re.fullmatch(r"\d+x", v)} - set(vocab.VARIANTS) == set()
    assert len(seen_f) > 40  # the test sees the corpora, not an empty list
