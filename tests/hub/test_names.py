"""Search terms, fuzzy names and trust badges: the pure parts of the hub code."""

from __future__ import annotations

import pytest

from pumasfs.hub import trust_badge
from pumasfs.hub.card import readme_summary
from pumasfs.hub.lookup import name_score, repo_from_url
from pumasfs.hub.names import search_terms, shard_base
from pumasfs.store.metadata import ModelMetadata


@pytest.mark.parametrize(
    "name, first",
    [
        ("Llama-3.2-1B-Instruct-Q4_K_M.gguf", "Llama-3.2-1B-Instruct"),
        ("Qwen2.5-7B-Instruct-IQ3_XS.gguf", "Qwen2.5-7B-Instruct"),
        ("mistral-7b-instruct-v0.2.Q8_0.gguf", "mistral-7b-instruct-v0.2"),
        ("flux1-dev-fp8-e4m3fn.safetensors", "flux1-dev"),
        ("sd_xl_base_1.0_fp16.safetensors", "sd-xl-base-1.0"),
        ("wan2.1_t2v_1.3B_bf16.safetensors", "wan2.1-t2v-1.3B"),
        ("v1-5-pruned-emaonly.safetensors", "v1-5"),
        ("model-00001-of-00003.safetensors", "model"),
    ],
)
def test_search_terms_strip_tags(name: str, first: str) -> None:
    assert search_terms(name)[0] == first


def test_version_tags_go_in_the_broader_term_only() -> None:
    assert search_terms("stable-diffusion-v1-5") == ["stable-diffusion-v1-5", "stable-diffusion"]
    assert search_terms("dreamshaper_8.safetensors") == ["dreamshaper-8", "dreamshaper"]


def test_shard_base() -> None:
    assert shard_base("model-00002-of-00004.safetensors") == "model.safetensors"
    assert shard_base("model.safetensors") is None


def test_name_score_ignores_format_words() -> None:
    assert name_score("Llama-3.2-1B-Instruct-Q4_K_M.gguf", "bartowski/Llama-3.2-1B-Instruct-GGUF") == 100
    assert name_score("Llama-3.2-1B-Instruct-Q4_K_M.gguf", "someone/totally-different") < 60


def test_repo_from_url() -> None:
    assert repo_from_url("https://huggingface.co/org/name", "https://huggingface.co") == "org/name"
    assert repo_from_url("http://127.0.0.1:9/org/name/resolve/main/x.gguf", "http://127.0.0.1:9") == "org/name"
    assert repo_from_url("https://civitai.com/models/1", "https://huggingface.co") is None


def _meta(**kw) -> ModelMetadata:
    return ModelMetadata(model_id="a/b/c", family="b", model_type="a", official_name="c", cleaned_name="c", **kw)


def test_trust_badges() -> None:
    assert trust_badge(_meta(match_method="hash")) == "verified"
    assert trust_badge(_meta(match_method="filename_fuzzy")) == "probable"
    assert trust_badge(_meta(match_method="filename_exact")) == "probable"
    assert trust_badge(_meta(match_method="filename_exact", hub_match={"badge": "modified"})) == "modified"
    assert trust_badge(_meta()) == "unknown"


def test_readme_summary_takes_the_first_prose_paragraph() -> None:
    text = "---\nlicense: mit\n---\n# Title\n\n![badge](x.png)\n\nA [small](http://x) **model**\nfor tests.\n\nMore.\n"
    assert readme_summary(text) == "A small model for tests."
    assert readme_summary("# only a heading\n") is None
