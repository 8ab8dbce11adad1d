"""`pumas enrich` and `pumas show --related` in a subprocess, with HF_ENDPOINT pointing at the fake hub."""

from __future__ import annotations

from .conftest import add_model, closed_port, weights
from .fakehub import FakeHub

GGUF = "Tiny-Chat-1B-Q4_K_M.gguf"
REPO = "acme/Tiny-Chat-1B-GGUF"


def chat_repo(hub: FakeHub, data: bytes) -> None:
    repo = hub.repo(REPO, pipeline_tag="text-generation", library_name="gguf", card_data={"license": "apache-2.0"})
    repo.add(GGUF, data)
    repo.add("Tiny-Chat-1B-Q8_0.gguf", weights("q8", 3000))


def test_enrich_pending_verifies_and_show_tells(hub, hub_env, pumas, library) -> None:
    data = weights("chat", 3000)
    chat_repo(hub, data)
    model = add_model(library, GGUF, data)
    user_edited = add_model(library, "Tiny-Chat-1B-Q8_0.gguf", weights("q8", 3000))
    pumas("edit", user_edited.model_id, "--set", "official_name=Mine", env_extra=hub_env)

    out = pumas("enrich", "--json", env_extra=hub_env).json()

    assert out["status"] == "done" and out["pending"] == []
    assert {o["model_id"]: o["badge"] for o in out["looked_up"]} == {
        model.model_id: "verified", user_edited.model_id: "verified"
    }
    shown = pumas("show", model.model_id, "--related", "--json", env_extra=hub_env).json()
    assert shown["trust"] == "verified" and shown["hub_repo"] == REPO
    assert [(r["path"], r["in_library"]) for r in shown["related"]] == [("Tiny-Chat-1B-Q8_0.gguf", True)]
    edited = library.get(user_edited.model_id)
    assert edited.official_name == "Mine" and edited.model_card["license"] == "apache-2.0"

    # Nothing is pending any more: a second run asks the hub nothing.
    before = len(hub.seen)
    assert pumas("enrich", "--json", env_extra=hub_env).json()["looked_up"] == []
    assert len(hub.seen) == before


def test_enrich_without_a_hub_keeps_models_pending_and_succeeds(pumas, library, hub_env) -> None:
    model = add_model(library, GGUF, weights("chat", 3000))

    run = pumas("enrich", model.model_id, env_extra={**hub_env, "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}"})

    assert "still pending" in run.stderr and "Traceback" not in run.stderr
    assert library.get(model.model_id).pending_online_lookup


def test_enrich_dry_run_changes_nothing(hub, hub_env, pumas, library) -> None:
    data = weights("chat", 3000)
    chat_repo(hub, data)
    model = add_model(library, GGUF, data)
    before = (library.model_dir(model.model_id) / "metadata.json").read_bytes()

    out = pumas("enrich", model.model_id, "--dry-run", "--json", env_extra=hub_env).json()

    assert out["looked_up"][0]["badge"] == "verified" and out["dry_run"]
    assert (library.model_dir(model.model_id) / "metadata.json").read_bytes() == before


def test_a_model_imported_by_pumas_import_is_verified_by_enrich(hub, hub_env, pumas, tmp_path) -> None:
    from .conftest import safetensors_bytes

    data = safetensors_bytes("import-me", 4096)
    hub.repo("acme/Pixel-Art-XL", pipeline_tag="text-to-image").add("pixel-art-xl.safetensors", data)
    src = tmp_path / "pixel-art-xl.safetensors"
    src.write_bytes(data)
    pumas("import", str(src), env_extra={**hub_env, "HF_HUB_OFFLINE": "1"})

    out = pumas("enrich", "--pending", "--json", env_extra=hub_env).json()

    assert [(o["badge"], o["repo"]) for o in out["looked_up"]] == [("verified", "acme/Pixel-Art-XL")]
