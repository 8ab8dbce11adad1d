"""The same LLM-shaped tensors are a text encoder (ComfyUI's repack) or a language-model release,
decided by what the file and its folder hold, never by the file name."""

from __future__ import annotations

import json

from pumasfs.identify import identify_path
from tests.corpus.corpus_2025 import load_layouts_2025
from tests.corpus.samples import write_sample

LAYOUTS = {l["id"]: l for l in load_layouts_2025()}


def test_companions_decide_release_or_encoder(tmp_path):
    lone = write_sample(LAYOUTS["gemma2-2b-lumina"], tmp_path / "lone")
    rec = identify_path(lone)
    assert (rec.model_type, rec.subtype, rec.family) == ("diffusion", "text_encoders", "gemma2-2b")
    assert rec.warnings and rec.confidence < 0.9  # says how sure it is

    stray = write_sample(LAYOUTS["gemma2-2b-lumina"], tmp_path / "stray")
    (stray.parent / "config.json").write_text(json.dumps({"some_app_setting": 1}))
    assert identify_path(stray).subtype == "text_encoders"  # a config.json that names no language model

    release = write_sample(LAYOUTS["gemma2-2b-lumina"], tmp_path / "release")
    (release.parent / "generation_config.json").write_text(json.dumps({"bos_token_id": 2}))
    rec = identify_path(release)
    assert (rec.model_type, rec.subtype, rec.family, rec.size) == ("llm", None, "gemma2", "2.6b")
    assert any("generation_config.json" in e for e in rec.evidence)


def test_scaled_fp8_marker_is_an_encoder_whatever_lies_beside_it(tmp_path):
    p = write_sample(LAYOUTS["qwen25-vl-7b-fp8-scaled"], tmp_path / "te")
    (p.parent / "tokenizer.json").write_text("{}")
    rec = identify_path(p)
    assert (rec.subtype, rec.family) == ("text_encoders", "qwen2.5-vl-7b")
    assert rec.confidence >= 0.9
