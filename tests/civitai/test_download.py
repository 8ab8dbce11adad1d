"""`pumas download civitai:...`: redirects, resume after SIGKILL, SHA256, tokens, refusals, rate limits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error
from tests.support.downloads import download_killed_midway, staging_dir

from .conftest import SECRET, TOKEN, lora_bytes, lora_on_civitai
from .fakecivitai import FakeFile

MIB = 1 << 20


def leftovers(root: Path) -> list[str]:
    d = staging_dir(root)
    return sorted(str(p.relative_to(d)) for p in d.rglob("*")) if d.exists() else []


def test_download_follows_the_redirect_checks_the_hash_and_imports(civ, civ_env, pumas, root) -> None:
    model, v, f = lora_on_civitai(civ, "dl")
    for ref in (f"civitai:{v.id}",):
        out = pumas("download", ref, "--json", env_extra=civ_env).json()
    assert out["status"] == "imported" and out["bytes_downloaded"] == len(f.data)
    [mid] = out["model_ids"]
    shown = pumas("show", mid, "--json", env_extra=civ_env).json()
    assert shown["hashes"]["sha256"] == f.sha256
    assert shown["civitai"]["version_id"] == v.id and shown["civitai"]["trust"] == "hash"
    assert "civitai-verified" in shown["trust_badges"]
    assert any(x["name"].endswith(".preview.png") for x in shown["files"])
    storage = civ.requests(r"^GET /storage/")
    assert len(storage) == 1 and storage[0].status == 200
    assert leftovers(root) == []
    # the same bytes again: nothing downloaded
    again = pumas("download", f"{civ.url}/models/{model.id}?modelVersionId={v.id}", "--json", env_extra=civ_env).json()
    assert again["status"] == "present" and again["model_ids"] == [mid]
    assert len(civ.requests(r"^GET /storage/")) == 1


@pytest.mark.parametrize("form", ["page", "model-page", "air", "download-url"])
def test_download_accepts_urls_and_air(civ, civ_env, pumas, form) -> None:
    model, v, f = lora_on_civitai(civ, f"form-{form}")
    older = civ.add_version(model, "v0.9", [FakeFile("old.safetensors", lora_bytes("old"))], newest=False)
    ref = {
        "page": f"{civ.url}/models/{model.id}/detail-tweaker?modelVersionId={v.id}",
        "model-page": f"{civ.url}/models/{model.id}",  # the newest version
        "air": f"urn:air:sdxl:lora:civitai:{model.id}@{v.id}",
        "download-url": f"{civ.url}/api/download/models/{v.id}",
    }[form]
    out = pumas("download", ref, "--dry-run", "--json", env_extra=civ_env).json()
    assert out["version_id"] == v.id != older.id and out["file_name"] == f.name and out["status"] == "dry-run"
    assert civ.requests(r"^GET /storage/") == []


def test_download_resumes_after_sigkill(civ, civ_env, pumas, root) -> None:
    data = lora_bytes("big", ctx=2048, rank=1024)  # 8 MiB
    model = civ.add_model("Big LoRA", type="LORA")
    f = FakeFile("big.safetensors", data)
    v = civ.add_version(model, "v1", [f])
    civ.stall_after[f.id] = 3 * MIB
    download_killed_midway(f"civitai:{v.id}", root=root, env=civ_env, at_least=3 * MIB)
    civ.stall_after.clear()
    civ.release.set()

    out = pumas("download", f"civitai:{v.id}", "--json", env_extra=civ_env).json()

    assert out["resumed_from"] == 3 * MIB and out["bytes_downloaded"] == len(data) - 3 * MIB
    last = civ.requests(r"^GET /storage/")[-1]
    assert last.headers.get("range") == f"bytes={3 * MIB}-" and last.status == 206
    shown = pumas("show", out["model_ids"][0], "--json", env_extra=civ_env).json()
    assert shown["hashes"]["sha256"] == f.sha256
    assert leftovers(root) == []


def test_bytes_that_do_not_match_the_sha256_leave_nothing_behind(civ, civ_env, pumas, library, root) -> None:
    _model, v, f = lora_on_civitai(civ, "tampered")
    f.served = lora_bytes("other")  # same size, other bytes
    run = pumas("download", f"civitai:{v.id}", check=False, env_extra=civ_env)
    assert_one_line_error(run)
    assert "do not match CivitAI's SHA256" in run.stderr
    assert library.index.count() == 0 and leftovers(root) == []


def test_gated_file_needs_a_token_and_the_token_is_never_printed(civ, civ_env, pumas, library, root) -> None:
    _model, v, f = lora_on_civitai(civ, "gated")
    f.gated = True
    # a JSON client gets 401
    run = pumas("download", f"civitai:{v.id}", check=False, env_extra={**civ_env, "CIVITAI_API_TOKEN": SECRET})
    assert_one_line_error(run)
    assert "this file needs a CivitAI token (CIVITAI_API_TOKEN)" in run.stderr
    assert SECRET not in run.stderr + run.stdout
    # the HTML login redirect is refused too, not saved as the model
    civ.json_401 = False
    run = pumas("download", f"civitai:{v.id}", "--json", check=False, env_extra={**civ_env, "CIVITAI_API_TOKEN": SECRET})
    assert_one_line_error(run)
    assert "this file needs a CivitAI token (CIVITAI_API_TOKEN)" in run.stderr and "login page" in run.stderr
    assert SECRET not in run.stderr + run.stdout
    assert civ.requests(r"^GET /login")
    assert library.index.count() == 0 and leftovers(root) == []
    # with the right token (from the config file): downloaded; the storage host never sees the token
    pumas("config", "set", "civitai.api_token", TOKEN, env_extra=civ_env)
    got = pumas("config", "get", "civitai.api_token", "--json", env_extra=civ_env)
    assert TOKEN not in got.stdout and got.json()[0]["value"] == "set"
    out = pumas("download", f"civitai:{v.id}", "--json", env_extra=civ_env)
    assert TOKEN not in out.stdout + out.stderr
    assert out.json()["status"] == "imported"
    api = civ.requests(r"^GET /api/download/")[-1]
    assert api.headers.get("authorization") == f"Bearer {TOKEN}"
    assert all("authorization" not in s.headers for s in civ.requests(r"^GET /storage/"))
    # the token is nowhere in the library
    for p in root.rglob("*"):
        if p.is_file() and p.name != "civitai.json" and p.stat().st_size < 4 * MIB:
            assert TOKEN.encode() not in p.read_bytes(), p


def test_early_access_is_explained(civ, civ_env, pumas, root) -> None:
    model = civ.add_model("Early", type="LORA")
    v = civ.add_version(model, "v2", [FakeFile("early.safetensors", lora_bytes("early"))],
                        early_access_deadline="2030-01-01T00:00:00.000Z")
    run = pumas("download", f"civitai:{v.id}", check=False, env_extra=civ_env)
    assert_one_line_error(run)
    assert "early access until 2030-01-01" in run.stderr
    assert leftovers(root) == []


def test_archived_model_has_nothing_to_download(civ, civ_env, pumas) -> None:
    _model, v, _f = lora_on_civitai(civ, "archived", archived=True)
    run = pumas("download", f"civitai:{v.id}", check=False, env_extra=civ_env)
    assert_one_line_error(run)
    assert "archived" in run.stderr and run.returncode == 4


def test_rate_limits_are_backed_off(civ, civ_env, pumas) -> None:
    _model, v, _f = lora_on_civitai(civ, "limited")
    civ.fail(r"^GET /api/download/models/", 429, count=2)
    t0 = time.monotonic()
    out = pumas("download", f"civitai:{v.id}", "--json", env_extra=civ_env).json()
    assert out["status"] == "imported"
    assert time.monotonic() - t0 >= 3.0  # waited 1 s, then 2 s
    assert [s.status for s in civ.requests(r"^GET /api/download/")] == [429, 429, 302]
