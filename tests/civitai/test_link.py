"""Manual links, user edits, base-model disagreement, offline imports and `pumas enrich` catching up."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error

from .conftest import lora_bytes, lora_on_civitai
from .fakecivitai import FakeFile


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / "dl" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("form", ["prefix", "url", "air"])
def test_manual_link_is_kept_through_enrichment(civ, civ_env, pumas, tmp_path, form) -> None:
    model, v, _f = lora_on_civitai(civ, "pruned-orig", words=["prunedword"])
    # our copy is pruned: other bytes, CivitAI does not know them
    pumas("import", _file(tmp_path, "pruned.safetensors", lora_bytes("pruned-copy")), env_extra=civ_env)
    [rec] = pumas("list", "--json", env_extra=civ_env).json()
    assert rec["civitai"] is None and rec["civitai_checked"]  # asked, not known
    ref = {"prefix": f"civitai:{v.id}", "url": f"{civ.url}/models/{model.id}/x?modelVersionId={v.id}",
           "air": f"urn:air:sdxl:lora:civitai:{model.id}@{v.id}"}[form]

    out = pumas("link", rec["model_id"], ref, "--json", env_extra=civ_env).json()

    assert out["version_id"] == v.id and out["status"] == "matched"
    shown = pumas("show", rec["model_id"], "--json", env_extra=civ_env).json()
    assert shown["civitai"]["trust"] == "user" and "civitai-linked" in shown["trust_badges"]
    assert shown["trigger_words"] == ["prunedword"]
    text = pumas("show", rec["model_id"], env_extra=civ_env).stdout
    assert "linked by user to CivitAI" in text and "Detail Tweaker" in text
    # another version of the model now holds exactly our bytes: a hash lookup would say so,
    # but the user's link stands
    other = civ.add_version(model, "v2-pruned", [FakeFile("pruned.safetensors", lora_bytes("pruned-copy"))])
    run = pumas("enrich", "--all", "--json", env_extra=civ_env).json()
    assert [o["status"] for o in run["civitai"]["looked_up"]] in ([], ["linked-by-user"])
    shown = pumas("show", rec["model_id"], "--json", env_extra=civ_env).json()
    assert shown["civitai"]["version_id"] == v.id != other.id and shown["civitai"]["trust"] == "user"


def test_link_errors_are_one_line(civ, civ_env, pumas, tmp_path) -> None:
    pumas("import", _file(tmp_path, "x.safetensors", lora_bytes("x")), env_extra=civ_env)
    mid = pumas("list", "--json", env_extra=civ_env).json()[0]["model_id"]
    run = pumas("link", mid, "civitai:999999", check=False, env_extra=civ_env)
    assert_one_line_error(run)
    assert run.returncode == 4 and "no such model version" in run.stderr
    run = pumas("link", mid, "https://example.com/models/1", check=False, env_extra=civ_env)
    assert_one_line_error(run)
    assert "not a CivitAI reference" in run.stderr


def test_user_edits_are_never_overwritten(civ, civ_env, pumas, tmp_path) -> None:
    _model, v, f = lora_on_civitai(civ, "edited", words=["civword"])
    _model2, v2, _f2 = lora_on_civitai(civ, "edited2", words=["civword2"])
    pumas("import", _file(tmp_path, "edited.safetensors", f.data), "--no-lookup", env_extra=civ_env)
    mid = pumas("list", "--json", env_extra=civ_env).json()[0]["model_id"]
    pumas("edit", mid, "--set", "trigger_words=mine,also mine", "--set", "tags=keep", "--set", "description=my notes",
          env_extra=civ_env)

    pumas("enrich", mid, env_extra=civ_env)

    shown = pumas("show", mid, "--json", env_extra=civ_env).json()
    assert shown["civitai"]["version_id"] == v.id  # CivitAI's own facts are recorded
    assert shown["trigger_words"] == ["mine", "also mine"]
    assert shown["tags"] == ["keep"] and shown["description"] == "my notes"
    # relinking by hand keeps them too
    pumas("link", mid, f"civitai:{v2.id}", env_extra=civ_env)
    shown = pumas("show", mid, "--json", env_extra=civ_env).json()
    assert shown["civitai"]["version_id"] == v2.id and shown["trigger_words"] == ["mine", "also mine"]


def test_header_decides_placement_and_show_says_both(civ, civ_env, pumas, tmp_path) -> None:
    # The header says SD1 (768-wide cross-attention); CivitAI's page says Pony (an SDXL base).
    _model, _v, f = lora_on_civitai(civ, "mislabeled", base_model="Pony", ctx=768)
    pumas("import", _file(tmp_path, "mislabeled.safetensors", f.data), env_extra=civ_env)
    [rec] = pumas("list", "--json", env_extra=civ_env).json()
    assert rec["family"] == "sd1" and rec["model_id"].split("/")[1] == "sd1"  # placed by the header
    assert rec["civitai"]["base_model"] == "Pony"
    shown = pumas("show", rec["model_id"], "--json", env_extra=civ_env).json()
    assert shown["civitai_base_model_disagrees"] is True
    text = pumas("show", rec["model_id"], env_extra=civ_env).stdout
    assert "Pony on CivitAI, but the header says sd1" in text
    listing = pumas("list", env_extra=civ_env).stdout
    assert "Pony" in listing and "Detail Tweaker" in listing


def test_offline_import_is_not_delayed_and_enrich_catches_up(civ, civ_env, pumas, tmp_path) -> None:
    _model, v, f = lora_on_civitai(civ, "later")
    src = _file(tmp_path, "later.safetensors", f.data)
    # CivitAI switched off: no request at all, the import returns at once, the model is pending
    t0 = time.monotonic()
    pumas("import", src, env_extra={**civ_env, "CIVITAI_OFFLINE": "1"})
    offline_s = time.monotonic() - t0
    assert civ.seen == []
    [rec] = pumas("list", "--json", env_extra=civ_env).json()
    assert rec["civitai"] is None and rec["civitai_checked"] is None

    out = pumas("enrich", "--json", env_extra=civ_env).json()

    assert [o["status"] for o in out["civitai"]["looked_up"]] == ["matched"]
    [rec] = pumas("list", "--json", env_extra=civ_env).json()
    assert rec["civitai"]["version_id"] == v.id
    assert offline_s < 10


def test_a_stalled_civitai_costs_the_import_one_deadline(civ, civ_env, pumas, tmp_path) -> None:
    _model, v, f = lora_on_civitai(civ, "slow")
    civ.delay_s = 30  # answers far too late
    t0 = time.monotonic()
    run = pumas("import", _file(tmp_path, "slow.safetensors", f.data), env_extra=civ_env)
    took = time.monotonic() - t0
    civ.delay_s = 0
    assert took < 3.0 + 5.0, took  # the 3 s lookup deadline plus process start-up, not 30 s
    [rec] = pumas("list", "--json", env_extra=civ_env).json()
    assert rec["civitai_checked"] is None  # still pending
    assert "Traceback" not in run.stderr
    pumas("enrich", env_extra=civ_env)
    assert pumas("list", "--json", env_extra=civ_env).json()[0]["civitai"]["version_id"] == v.id


def test_offline_a_civitai_info_that_came_with_the_model_is_read(civ, civ_env, pumas, tmp_path) -> None:
    """Civitai Helper's .civitai.info is CivitAI's own answer: offline, it names the model at once."""
    import json

    _model, v, f = lora_on_civitai(civ, "helper", words=["helperword"])
    src = _file(tmp_path, "helper.safetensors", f.data)
    (src.parent / "helper.civitai.info").write_text(json.dumps(civ.version_json(v), indent=4))
    _file(tmp_path, "other.safetensors", lora_bytes("other-bytes"))
    (src.parent / "other.civitai.info").write_text(json.dumps(civ.version_json(v)))  # describes other bytes
    (src.parent / "empty.civitai.info").write_text("")
    _file(tmp_path, "empty.safetensors", lora_bytes("empty"))

    pumas("import", src, src.parent / "other.safetensors", src.parent / "empty.safetensors",
          env_extra={**civ_env, "CIVITAI_OFFLINE": "1"})

    recs = {r["original_name"]: r for r in pumas("list", "--json", env_extra=civ_env).json()}
    helper = recs["helper.safetensors"]
    assert helper["civitai"]["version_id"] == v.id and helper["trigger_words"] == ["helperword"]
    assert helper["civitai"]["creator"] is None and helper["civitai_checked"] is None  # still to confirm online
    assert recs["other.safetensors"]["civitai"] is None and recs["empty.safetensors"]["civitai"] is None
    assert pumas("list", "--search", "helperword", "--json", env_extra=civ_env).json()[0]["original_name"] == "helper.safetensors"
    assert civ.seen == []

    pumas("enrich", env_extra=civ_env)
    recs = {r["original_name"]: r for r in pumas("list", "--json", env_extra=civ_env).json()}
    assert recs["helper.safetensors"]["civitai"]["creator"] == "alice" and recs["helper.safetensors"]["civitai_checked"]
