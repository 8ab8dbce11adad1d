"""Lookups and enrichment against the fake hub, with the real huggingface_hub client in this process.

Each case builds a library model the way an import leaves it (pending, sha256
known) and a hub that does or does not hold those bytes.
"""

from __future__ import annotations

import time

import pytest

from pumasfs.hub import enrich_after_import, enrich_models, related_files, trust_badge
from pumasfs.store.library import Library
from pumasfs.store.metadata import ModelMetadata

from .conftest import add_model, closed_port, weights
from .fakehub import FakeHub

pytestmark = pytest.mark.usefixtures("in_process_ok")

GGUF = "Llama-3.2-1B-Instruct-Q4_K_M.gguf"
REPO = "bartowski/Llama-3.2-1B-Instruct-GGUF"


def llama_repo(hub: FakeHub, data: bytes):
    repo = hub.repo(
        REPO, pipeline_tag="text-generation", library_name="gguf",
        tags=["gguf", "llama", "base_model:quantized:meta-llama/Llama-3.2-1B-Instruct", "license:llama3.2"],
        card_data={"license": "llama3.2", "base_model": "meta-llama/Llama-3.2-1B-Instruct"},
    )
    repo.add(GGUF, data)
    repo.add("Llama-3.2-1B-Instruct-Q8_0.gguf", weights("q8", 6000))
    repo.add("README.md", b"---\nlicense: llama3.2\n---\n# Llama 3.2\n\nA small instruct model, quantised.\n")
    # A decoy with a similar name, fewer downloads: ranking must not stop at it.
    hub.repo("someone/Llama-3.2-1B-Instruct-finetune", downloads=1).add("other.gguf", weights("decoy"))
    return repo


def llama_in_both(hub: FakeHub, library: Library) -> ModelMetadata:
    """The hub's Llama repo, and its Q4 file's bytes in the library as an import leaves them (pending)."""
    data = weights("llama-q4", 5000)
    llama_repo(hub, data)
    return add_model(library, GGUF, data)


def test_hash_match_is_verified_and_fills_the_seed_fields(hub, hub_env, library: Library) -> None:
    model = llama_in_both(hub, library)
    assert model.pending_online_lookup

    summary = enrich_models(library, [model.model_id])

    assert summary.status == "done" and summary.changed == [model.model_id]
    meta = library.get(model.model_id)
    assert trust_badge(meta) == "verified"
    assert (meta.match_method, meta.match_confidence, meta.hub_repo) == ("hash", 1.0, REPO)
    assert meta.hub_revision == hub.repos[REPO].sha
    assert not meta.pending_online_lookup
    assert meta.official_name == "Llama-3.2-1B-Instruct-GGUF"
    assert meta.base_model == "meta-llama/Llama-3.2-1B-Instruct"
    assert meta.release_date == "2024-09-25T14:00:00Z"
    assert meta.download_url == f"{hub.url}/{REPO}"
    assert meta.model_card["license"] == "llama3.2"
    assert meta.model_card["summary"] == "A small instruct model, quantised."
    assert "llama" in meta.tags and "text-generation" in meta.tags
    assert "llama.cpp" in meta.compatible_apps
    # The change reached the index's change log, which is what drives the incremental sync.
    assert [c.model_id for c in library.index.changes_since(0)][-1] == model.model_id
    # Verified by the tree's LFS sha256: the search, then model info with file metadata.
    assert hub.requests(r"^GET /api/models$") and hub.requests(rf"^GET /api/models/{REPO}$")
    assert hub.requests(rf"^GET /api/models/{REPO}$")[0].query.get("blobs") == ["true"]


def test_related_files_list_the_repo_and_what_the_library_has(hub, hub_env, library: Library) -> None:
    model = llama_in_both(hub, library)
    q8 = add_model(library, "Llama-3.2-1B-Instruct-Q8_0.gguf", weights("q8", 6000))
    enrich_models(library, [model.model_id])
    before = len(hub.seen)

    related = {r.path: r for r in related_files(library, library.get(model.model_id))}

    assert set(related) == {"Llama-3.2-1B-Instruct-Q8_0.gguf", "README.md"}
    assert related["Llama-3.2-1B-Instruct-Q8_0.gguf"].in_library
    assert related["Llama-3.2-1B-Instruct-Q8_0.gguf"].library_models == [q8.model_id]
    assert related["Llama-3.2-1B-Instruct-Q8_0.gguf"].kind == "quantisation"
    assert related["Llama-3.2-1B-Instruct-Q8_0.gguf"].size == 6000
    assert not related["README.md"].in_library
    assert len(hub.seen) == before  # the file list came from the 24 h cache


def test_name_only_match_is_probable(hub, hub_env, library: Library) -> None:
    # The repo has other quantisations, not this one: only the name links them.
    llama_repo(hub, weights("llama-q4", 5000))
    model = add_model(library, "Llama-3.2-1B-Instruct-IQ3_XS.gguf", weights("mine", 3000))

    enrich_models(library, [model.model_id])

    meta = library.get(model.model_id)
    assert trust_badge(meta) == "probable"
    assert meta.match_method == "filename_fuzzy" and meta.hub_repo == REPO
    assert 0 < meta.match_confidence < 1
    assert not meta.pending_online_lookup
    # A guess fills gaps but does not rename the model.
    assert meta.official_name == "Llama-3.2-1B-Instruct-IQ3_XS"
    assert meta.base_model == "meta-llama/Llama-3.2-1B-Instruct"


def test_same_name_other_bytes_is_modified(hub, hub_env, library: Library) -> None:
    llama_repo(hub, weights("llama-q4", 5000))
    model = add_model(library, GGUF, weights("re-quantised", 5000))

    enrich_models(library, [model.model_id])

    meta = library.get(model.model_id)
    assert trust_badge(meta) == "modified"
    assert meta.match_method == "filename_exact" and meta.hub_repo == REPO
    assert meta.hub_match["hub_sha256"][GGUF] == hub.repos[REPO].files[GGUF].sha256
    assert meta.official_name == "Llama-3.2-1B-Instruct-Q4_K_M"  # other bytes: the hub's facts are not ours


def test_no_match_is_unknown_and_not_pending(hub, hub_env, library: Library) -> None:
    llama_repo(hub, weights("llama-q4", 5000))
    model = add_model(library, "my-private-merge-v3.safetensors", weights("private"), model_type="diffusion", family="sdxl")

    summary = enrich_models(library, [model.model_id])

    meta = library.get(model.model_id)
    assert summary.status == "done"
    assert trust_badge(meta) == "unknown" and meta.match_method == "none" and meta.hub_repo is None
    assert not meta.pending_online_lookup


def test_sharded_set_is_verified_file_by_file(hub, hub_env, library: Library) -> None:
    shards = {f"model-0000{i}-of-00002.safetensors": weights(f"shard{i}", 3000) for i in (1, 2)}
    repo = hub.repo("acme/Tiny-LLM-7B", pipeline_tag="text-generation", library_name="transformers")
    for name, data in shards.items():
        repo.add(name, data)
    repo.add("config.json", b"{}")
    first, second = list(shards)
    model = add_model(library, first, shards[first], extra_files={second: shards[second]},
                      original_name="Tiny-LLM-7B", layout="folder")

    enrich_models(library, [model.model_id])
    assert trust_badge(library.get(model.model_id)) == "verified"

    # The same set with one shard re-saved: the repo explains it only in part.
    other = add_model(library, first, shards[first], extra_files={second: weights("mine", 3000)},
                      original_name="Tiny-LLM-7B", layout="folder")
    enrich_models(library, [other.model_id])
    assert trust_badge(library.get(other.model_id)) == "modified"


def test_user_edited_field_survives_enrichment(hub, hub_env, library: Library) -> None:
    model = llama_in_both(hub, library)
    library.edit(model.model_id, {"official_name": "My Llama", "tags": ["mine"]})

    enrich_models(library, [model.model_id])

    meta = library.get(model.model_id)
    assert meta.match_method == "hash"
    assert meta.official_name == "My Llama" and meta.tags == ["mine"]
    assert meta.base_model == "meta-llama/Llama-3.2-1B-Instruct"  # not edited: filled


def test_model_type_from_pipeline_tag_when_the_header_was_unsure(hub, hub_env, library: Library) -> None:
    data = weights("mystery", 5000)
    repo = hub.repo("acme/Mystery-Speech", pipeline_tag="automatic-speech-recognition")
    repo.add("Mystery-Speech.safetensors", data)
    model = add_model(library, "Mystery-Speech.safetensors", data, model_type="unknown", family="unknown")

    summary = enrich_models(library, [model.model_id])

    new_id = summary.renamed[model.model_id]
    assert new_id.startswith("audio/") and library.get(new_id).model_type == "audio"


def test_hub_unreachable_leaves_models_pending_quickly(hub_env, library: Library, monkeypatch) -> None:
    """A refused connection is an answer: the batch gives up at once, it does not wait out its deadline."""
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    models = [add_model(library, f"model-{i}-Q4_K_M.gguf", weights(f"m{i}")) for i in range(3)]
    deadline_s = 3.0

    start = time.monotonic()
    summary = enrich_after_import(library, [m.model_id for m in models], deadline_s=deadline_s)

    assert time.monotonic() - start < deadline_s / 3
    assert "refused" in (summary.reason or ""), summary.reason
    assert summary.status == "unavailable" and sorted(summary.pending) == sorted(m.model_id for m in models)
    assert summary.requests == 1  # the first failure marks the hub down for the batch
    assert all(library.get(m.model_id).pending_online_lookup for m in models)


def test_dns_failure_leaves_the_model_pending(hub_env, library: Library, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://no-such-hub.invalid")
    model = add_model(library, GGUF, weights("x"))

    summary = enrich_after_import(library, [model.model_id], deadline_s=3.0)

    assert summary.pending == [model.model_id]
    assert library.get(model.model_id).pending_online_lookup


def test_offline_mode_makes_no_request(hub, hub_env, library: Library, monkeypatch) -> None:
    llama_repo(hub, weights("llama-q4", 5000))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = add_model(library, GGUF, weights("llama-q4", 5000))

    summary = enrich_after_import(library, [model.model_id])

    assert summary.status == "offline" and summary.pending == [model.model_id]
    assert hub.seen == []
    assert library.get(model.model_id).pending_online_lookup


def test_429_then_success_honours_retry_after(hub, hub_env, library: Library) -> None:
    model = llama_in_both(hub, library)
    hub.fail(rf"^GET /api/models/{REPO}$", 429, count=1, Retry_After="1")

    summary = enrich_models(library, [model.model_id])

    assert summary.status == "done"
    assert trust_badge(library.get(model.model_id)) == "verified"
    infos = hub.requests(rf"^GET /api/models/{REPO}$")
    assert [s.status for s in infos[:2]] == [429, 200]
    assert infos[1].at - infos[0].at >= 0.9  # waited for Retry-After


def test_persistent_500s_leave_the_batch_pending(hub, hub_env, library: Library) -> None:
    a = llama_in_both(hub, library)
    b = add_model(library, "Llama-3.2-1B-Instruct-Q8_0.gguf", weights("q8", 6000))
    hub.fail(r"^GET /api/models/", 500, count=1000)

    start = time.monotonic()
    summary = enrich_models(library, [a.model_id, b.model_id], deadline_s=6.0)

    assert time.monotonic() - start < 6.0 + 5.0
    assert sorted(summary.pending) == sorted([a.model_id, b.model_id])
    assert "500" in (summary.reason or "")
    assert library.get(a.model_id).pending_online_lookup and library.get(b.model_id).pending_online_lookup
    # Our retries are bounded: a couple per request, and none once the hub is known down.
    assert len(hub.requests(r"^GET /api/models/")) <= 3


def test_slow_hub_never_holds_an_import_past_its_deadline(hub, hub_env, library: Library) -> None:
    model = llama_in_both(hub, library)
    hub.delay_s = 60.0

    start = time.monotonic()
    summary = enrich_after_import(library, [model.model_id], deadline_s=2.0)
    elapsed = time.monotonic() - start

    assert elapsed < 2.0 + 3.0, elapsed
    assert summary.pending == [model.model_id]
    assert library.get(model.model_id).pending_online_lookup


def test_repo_file_lists_are_cached_for_a_day(hub, hub_env, library: Library) -> None:
    a = llama_in_both(hub, library)
    enrich_models(library, [a.model_id])
    infos = len(hub.requests(rf"^GET /api/models/{REPO}$"))

    b = add_model(library, "Llama-3.2-1B-Instruct-Q8_0.gguf", weights("q8", 6000))
    enrich_models(library, [b.model_id])

    assert trust_badge(library.get(b.model_id)) == "verified"
    assert len(hub.requests(rf"^GET /api/models/{REPO}$")) == infos  # second model: no new tree request


def test_request_budget_leaves_the_rest_pending(hub, hub_env, library: Library) -> None:
    models = []
    for i in range(4):
        data = weights(f"model{i}")
        hub.repo(f"acme/Model{i}-GGUF").add(f"Model{i}-Q4_K_M.gguf", data)
        models.append(add_model(library, f"Model{i}-Q4_K_M.gguf", data))

    summary = enrich_models(library, [m.model_id for m in models], budget=4)

    assert summary.requests <= 4
    assert len(summary.looked_up) == 2 and len(summary.pending) == 2
    assert "budget" in (summary.reason or "")
    assert sum(library.get(m.model_id).pending_online_lookup for m in models) == 2


def test_the_refusal_probe_defers_to_a_proxy(monkeypatch) -> None:
    """Behind a proxy the proxy answers for the hub: a direct connect proves nothing, so none is made."""
    from pumasfs.hub.client import unreachable

    endpoint = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert "refused" in (unreachable(endpoint, 2.0) or "")
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    assert unreachable(endpoint, 2.0) is None
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert "refused" in (unreachable(endpoint, 2.0) or "")
