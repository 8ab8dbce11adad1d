"""`pumas download`: fetched with the real client from the fake hub, verified, imported as one model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pumasfs.hub import download_repo, trust_badge
from pumasfs.store.library import Library
from tests.support.downloads import download_killed_midway, staging_dir

from ..conftest import assert_one_line_error
from .conftest import safetensors_bytes
from .fakehub import FakeHub

pytestmark = pytest.mark.usefixtures("in_process_ok")

MIB = 1 << 20
# huggingface_hub writes in 10 MiB chunks: a resume point needs a file bigger than that.
BIG_FLOATS = (12 * MIB) // 4


def hub_files(root: Path) -> list[Path]:
    hub_dir = staging_dir(root) / "hub"
    return sorted(p for p in hub_dir.rglob("*")) if hub_dir.exists() else []


def tiny_repo(hub: FakeHub, floats: int = 2048):
    repo = hub.repo("acme/Tiny-Model", pipeline_tag="text-to-image", library_name="diffusers",
                    card_data={"license": "mit"})
    weights = repo.add("tiny-model.safetensors", safetensors_bytes("tiny", floats))
    repo.add("README.md", b"# Tiny\n\nA tiny test model.\n")
    return repo, weights


def test_download_imports_one_verified_model(hub, hub_env, library: Library, root: Path) -> None:
    repo, weights = tiny_repo(hub)

    result = download_repo(library, "acme/Tiny-Model", ["tiny-model.safetensors"])

    assert result.status == "imported" and len(result.model_ids) == 1
    meta = library.get(result.model_ids[0])
    assert trust_badge(meta) == "verified"
    assert (meta.hub_repo, meta.hub_revision) == ("acme/Tiny-Model", repo.sha)
    assert meta.model_card["license"] == "mit" and not meta.pending_online_lookup
    on_disk = library.model_dir(meta.model_id) / meta.primary_file
    assert hashlib.sha256(on_disk.read_bytes()).hexdigest() == weights.sha256
    assert hub_files(root) == []  # the work folder is gone


def test_interrupted_transfer_resumes_with_a_range_request(hub, hub_env, library: Library) -> None:
    repo = hub.repo("acme/Big-Model")
    big = repo.add("big-model.safetensors", safetensors_bytes("big", BIG_FLOATS))
    hub.drop_after["big-model.safetensors"] = 11 * MIB  # the connection breaks after 11 MiB

    result = download_repo(library, "acme/Big-Model", ["big-model.safetensors"])

    gets = hub.requests(r"^GET /acme/Big-Model/resolve/")
    assert [g.status for g in gets] == [200, 206]
    assert gets[1].headers.get("range") == f"bytes={10 * MIB}-"
    meta = library.get(result.model_ids[0])
    assert meta.hashes.sha256 == big.sha256 and trust_badge(meta) == "verified"


def test_killed_download_resumes_on_the_next_run(hub, hub_env, pumas, root: Path) -> None:
    repo = hub.repo("acme/Big-Model")
    big = repo.add("big-model.safetensors", safetensors_bytes("big", BIG_FLOATS))
    hub.stall_after["big-model.safetensors"] = 11 * MIB  # sends 11 MiB, then nothing

    download_killed_midway("acme/Big-Model", "big-model.safetensors", root=root, env=hub_env, at_least=10 * MIB)
    hub.stall_after.clear()

    run = pumas("download", "acme/Big-Model", "big-model.safetensors", "--json", env_extra=hub_env)

    out = run.json()
    assert out["files"][0]["action"] == "resume" and out["files"][0]["resumed_from"] == 10 * MIB
    assert out["bytes_downloaded"] == len(big.data) - 10 * MIB
    last = hub.requests(r"^GET /acme/Big-Model/resolve/")[-1]
    assert last.headers.get("range") == f"bytes={10 * MIB}-" and last.status == 206
    shown = pumas("show", out["model_ids"][0], "--json", env_extra=hub_env).json()
    assert shown["hashes"]["sha256"] == big.sha256 and shown["trust"] == "verified"
    assert hub_files(root) == []


def test_bytes_that_do_not_match_the_sha256_leave_nothing_behind(hub, hub_env, pumas, library, root) -> None:
    repo, weights = tiny_repo(hub)
    weights.served = safetensors_bytes("tampered", 2048)  # same size, other bytes

    run = pumas("download", "acme/Tiny-Model", "tiny-model.safetensors", check=False, env_extra=hub_env)

    assert_one_line_error(run)
    assert "do not match the hub's sha256" in run.stderr
    assert library.index.count() == 0
    assert hub_files(root) == []


def test_gated_repo_needs_a_token(hub, hub_env, pumas, library, root) -> None:
    repo, _ = tiny_repo(hub)
    repo.gated = "auto"

    run = pumas("download", "acme/Tiny-Model", "tiny-model.safetensors", check=False, env_extra=hub_env)
    assert_one_line_error(run)
    assert "gated" in run.stderr and "HF_TOKEN" in run.stderr
    assert hub_files(root) == [] and library.index.count() == 0

    # With a token the same download goes through, and the token reached the hub.
    run = pumas("download", "acme/Tiny-Model", "tiny-model.safetensors", "--json",
                env_extra={**hub_env, "HF_TOKEN": hub.token})
    assert len(run.json()["model_ids"]) == 1
    assert hub.requests(r"^GET /acme/Tiny-Model/resolve/")[-1].headers.get("authorization") == f"Bearer {hub.token}"


def test_gated_repo_with_a_token_that_was_not_granted(hub, hub_env, pumas, root) -> None:
    repo, _ = tiny_repo(hub)
    repo.gated = "manual"

    run = pumas("download", "acme/Tiny-Model", check=False, env_extra={**hub_env, "HF_TOKEN": "hf_not_granted"})

    assert_one_line_error(run)
    assert "gated" in run.stderr
    assert hub_files(root) == []


def test_missing_file_or_repo_is_not_found(hub, hub_env, pumas) -> None:
    tiny_repo(hub)
    run = pumas("download", "acme/Tiny-Model", "nope.safetensors", check=False, env_extra=hub_env)
    assert_one_line_error(run)
    assert run.returncode == 4 and "nope.safetensors" in run.stderr

    run = pumas("download", "acme/No-Such-Repo", check=False, env_extra=hub_env)
    assert_one_line_error(run)
    assert run.returncode == 4


def test_a_file_the_library_has_is_not_downloaded_again(hub, hub_env, library: Library) -> None:
    tiny_repo(hub)
    first = download_repo(library, "acme/Tiny-Model", ["tiny-model.safetensors"])
    gets = len(hub.requests(r"^GET /acme/Tiny-Model/resolve/"))

    again = download_repo(library, "acme/Tiny-Model", ["tiny-model.safetensors"])

    assert again.status == "present" and again.model_ids == first.model_ids
    assert len(hub.requests(r"^GET /acme/Tiny-Model/resolve/")) == gets
    assert library.index.count() == 1


def _shard_index(names: list[str]) -> bytes:
    return json.dumps({"metadata": {}, "weight_map": {f"t{i}": n for i, n in enumerate(names)}}).encode()


def test_sharded_repo_is_one_model_verified_file_by_file(hub, hub_env, library: Library) -> None:
    repo = hub.repo("acme/Sharded-LLM", pipeline_tag="text-generation", library_name="transformers")
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    for i, n in enumerate(names):
        repo.add(n, safetensors_bytes(f"shard{i}", 1024, name=f"t{i}"))
    repo.add("model.safetensors.index.json", _shard_index(names))
    repo.add("config.json", json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}).encode())

    result = download_repo(library, "acme/Sharded-LLM")

    assert len(result.model_ids) == 1
    meta = library.get(result.model_ids[0])
    assert trust_badge(meta) == "verified"
    assert {f.name.rsplit("/", 1)[-1] for f in meta.files} >= set(names)
    assert len(meta.hub_match["files"]) == 2


def test_diffusers_repo_is_one_model(hub, hub_env, library: Library) -> None:
    repo = hub.repo("acme/Tiny-Diffusers", pipeline_tag="text-to-image", library_name="diffusers")
    repo.add("model_index.json", json.dumps({"_class_name": "StableDiffusionPipeline"}).encode())
    repo.add("unet/config.json", b"{}")
    repo.add("unet/diffusion_pytorch_model.safetensors", safetensors_bytes("unet", 1024))
    repo.add("vae/config.json", b"{}")
    repo.add("vae/diffusion_pytorch_model.safetensors", safetensors_bytes("vae", 512))

    result = download_repo(library, "acme/Tiny-Diffusers", include=["*.json", "*.safetensors"])

    assert len(result.model_ids) == 1
    meta = library.get(result.model_ids[0])
    assert trust_badge(meta) == "verified" and meta.layout == "folder"
    assert {f.name for f in meta.files} >= {"unet/diffusion_pytorch_model.safetensors", "vae/config.json"}


def test_offline_download_is_a_clear_error(hub, hub_env, pumas) -> None:
    tiny_repo(hub)
    run = pumas("download", "acme/Tiny-Model", check=False, env_extra={**hub_env, "HF_HUB_OFFLINE": "1"})
    assert_one_line_error(run)
    assert "offline" in run.stderr and hub.seen == []


def test_dry_run_downloads_nothing(hub, hub_env, pumas, library, root) -> None:
    tiny_repo(hub)
    run = pumas("download", "acme/Tiny-Model", "--dry-run", "--json", env_extra=hub_env)
    assert {f["path"] for f in run.json()["files"]} == {"tiny-model.safetensors", "README.md"}
    assert not hub.requests(r"/resolve/") and library.index.count() == 0 and hub_files(root) == []
