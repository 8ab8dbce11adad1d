"""`pumas outdated`: newer CivitAI versions and newer Hugging Face revisions of a file; and the shared deadline."""

from __future__ import annotations

import time

from tests.hub.conftest import safetensors_bytes

from .conftest import lora_bytes, lora_on_civitai
from .fakecivitai import FakeFile


def _both(civ_env: dict, hub_env: dict) -> dict:
    return {**civ_env, **hub_env, "CIVITAI_OFFLINE": "", "CIVITAI_ENDPOINT": civ_env["CIVITAI_ENDPOINT"]}


def test_outdated_lists_newer_civitai_versions_and_hub_revisions(civ, civ_env, hub, hub_env, pumas, tmp_path) -> None:
    env = _both(civ_env, hub_env)
    # CivitAI: v1 imported by hash, then v2 published
    model, _v1, f1 = lora_on_civitai(civ, "evolving")
    src = tmp_path / "dl" / "evolving.safetensors"
    src.parent.mkdir()
    src.write_bytes(f1.data)
    pumas("import", src, env_extra=env)
    # a model that is current
    _model_b, _vb, fb = lora_on_civitai(civ, "current")
    (tmp_path / "dl" / "current.safetensors").write_bytes(fb.data)
    pumas("import", tmp_path / "dl" / "current.safetensors", env_extra=env)
    v2_data = lora_bytes("evolving-v2", rank=8)
    v2 = civ.add_version(model, "v2.0", [FakeFile("evolving_v2.safetensors", v2_data)],
                         published_at="2025-01-01T00:00:00.000Z")
    # Hugging Face: a verified download, then the repo's file changes
    repo = hub.repo("acme/Tiny-Model", pipeline_tag="text-to-image", library_name="diffusers")
    repo.add("tiny-model.safetensors", safetensors_bytes("tiny", 2048))
    hf = pumas("download", "acme/Tiny-Model", "tiny-model.safetensors", "--json", env_extra=env).json()
    new_bytes = safetensors_bytes("tiny-v2", 4096)
    repo.add("tiny-model.safetensors", new_bytes)

    out = pumas("outdated", "--json", env_extra=env).json()

    by_source = {i["source"]: i for i in out["items"]}
    assert len(out["items"]) == 2, out
    c = by_source["civitai"]
    assert c["current"] == "v1.0" and c["latest"] == "v2.0" and c["latest_id"] == str(v2.id)
    assert c["size_bytes"] == len(v2_data) and c["download"] == f"civitai:{v2.id}"
    assert c["url"] == f"{civ.url}/models/{model.id}?modelVersionId={v2.id}"
    h = by_source["huggingface"]
    assert h["model_id"] == hf["model_ids"][0] and h["size_bytes"] == len(new_bytes)
    assert h["url"] == f"{hub.url}/acme/Tiny-Model/blob/main/tiny-model.safetensors"
    text = pumas("outdated", env_extra=env).stdout
    assert "v1.0 -> v2.0" in text and f"modelVersionId={v2.id}" in text


def test_import_waits_for_one_deadline_for_hub_and_civitai_together(civ, civ_env, hub, hub_env, pumas, tmp_path) -> None:
    env = _both(civ_env, hub_env)
    _model, _v, f = lora_on_civitai(civ, "both-slow")
    src = tmp_path / "both-slow.safetensors"
    src.write_bytes(f.data)
    # The same import with answering services, timed in the same test: process start-up and the
    # import itself cost what they cost on this machine (seconds under load, with coverage on);
    # only the wait on top of that is the deadline's.
    _m, _v2, fast = lora_on_civitai(civ, "both-fast")
    fast_src = tmp_path / "both-fast.safetensors"
    fast_src.write_bytes(fast.data)
    civ.delay_s = 0
    hub.delay_s = 0
    t0 = time.monotonic()
    pumas("import", fast_src, env_extra=env)
    baseline = time.monotonic() - t0
    civ.delay_s = 30
    hub.delay_s = 30
    try:
        t0 = time.monotonic()
        pumas("import", src, env_extra=env)
        took = time.monotonic() - t0
    finally:
        civ.delay_s = 0
        hub.delay_s = 0
        hub.release.set()
    # one 3 s deadline for both, not 3 s + 3 s (that would be >= baseline + 6), never 30 s
    assert took < baseline + 3.0 + 1.5, (took, baseline)
    recs = pumas("list", "--json", env_extra={**env, "HF_HUB_OFFLINE": "1"}).json()
    [rec] = [r for r in recs if r["cleaned_name"] == "both-slow"]
    assert rec["civitai_checked"] is None and rec["pending_online_lookup"] is True


def test_a_file_verified_on_both_shows_both_badges(civ, civ_env, hub, hub_env, pumas, tmp_path) -> None:
    env = _both(civ_env, hub_env)
    _, v, f = lora_on_civitai(civ, "both-lora", images=[])
    repo = hub.repo("acme/both-lora", pipeline_tag="text-to-image")
    repo.add("both-lora.safetensors", f.data)
    src = tmp_path / "both-lora.safetensors"
    src.write_bytes(f.data)

    pumas("import", src, env_extra=env)

    [rec] = pumas("list", "--json", env_extra=env).json()
    shown = pumas("show", rec["model_id"], "--json", env_extra=env).json()
    assert shown["trust_badges"] == ["verified", "civitai-verified"]
    assert shown["hub_repo"] == "acme/both-lora" and shown["civitai"]["version_id"] == v.id
    assert "verified + civitai-verified" in pumas("list", env_extra=env).stdout
    text = pumas("show", rec["model_id"], env_extra=env).stdout
    assert "verified (hash, 1.00) + verified by hash on CivitAI" in text
