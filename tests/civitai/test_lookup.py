"""Lookups by SHA256 after an import: metadata, trust, sidecars, the deadline, user edits."""

from __future__ import annotations

from pathlib import Path

from .conftest import lora_on_civitai


def _write(d: Path, name: str, data: bytes) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_bytes(data)
    return p


def test_import_matches_a_lora_by_hash_and_fills_its_metadata(civ, civ_env, pumas, tmp_path) -> None:
    model, v, f = lora_on_civitai(civ, "detail", words=["detailed, sharp focus", "hdr"])
    src = _write(tmp_path / "dl", "add_detail.safetensors", f.data)

    pumas("import", src, env_extra=civ_env)

    [rec] = pumas("list", "--json", env_extra=civ_env).json()
    civ_meta = rec["civitai"]
    assert civ_meta["model_id"] == model.id and civ_meta["version_id"] == v.id
    assert civ_meta["model_name"] == "Detail Tweaker" and civ_meta["version_name"] == "v1.0"
    assert civ_meta["creator"] == "alice" and civ_meta["trust"] == "hash"
    assert civ_meta["url"] == f"{civ.url}/models/{model.id}?modelVersionId={v.id}"
    assert civ_meta["air"] == f"urn:air:sdxl:lora:civitai:{model.id}@{v.id}"
    assert civ_meta["base_model"] == "SDXL 1.0" and civ_meta["type"] == "LORA" and civ_meta["file_type"] == "Model"
    assert rec["trigger_words"] == ["detailed", "sharp focus", "hdr"]
    assert {"detail", "tool"} <= set(rec["tags"])
    assert rec["description"] == "A fine model."
    assert rec["civitai_checked"]
    # one POST for the batch, no per-hash GETs
    assert len(civ.requests(r"^POST /api/v1/model-versions/by-hash$")) == 1
    assert civ.requests(r"^GET /api/v1/model-versions/by-hash/") == []
    # sidecars: the safe image (the first one is X-rated), and the info JSON
    names = {x["name"]: x for x in rec["files"]}
    stem = rec["primary_file"].rsplit(".", 1)[0]
    assert names[f"{stem}.preview.png"]["role"] == "preview"
    mdir = Path(pumas("show", rec["model_id"], "--json", env_extra=civ_env).json()["files"][0]["name"]).parent
    assert mdir is not None


def test_list_search_finds_a_lora_by_its_trigger_word(civ, civ_env, pumas, tmp_path) -> None:
    lora_on_civitai(civ, "styler", words=["zxqstyle"])
    pumas("import", _write(tmp_path / "dl", "styler.safetensors", civ.models[max(civ.models)].versions[0].files[0].data),
          env_extra=civ_env)
    found = pumas("list", "--search", "zxqstyle", "--json", env_extra=civ_env).json()
    assert len(found) == 1 and found[0]["trigger_words"] == ["zxqstyle"]
