"""Hub use cases against the fake hub on 127.0.0.1 (real client code): enrich and download."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pumasfs.base.errors import PumasError
from pumasfs.hub import trust_badge
from pumasfs.usecases import apps as app_uc
from pumasfs.usecases import hub as uc
from pumasfs.usecases import sync as sync_uc
from pumasfs.usecases.workspace import Workspace

from ..hub.conftest import add_model, safetensors_bytes
from ..hub.fakehub import FakeHub
from ..materializer.conftest import make_comfyui
from .conftest import Recorder

pytestmark = pytest.mark.usefixtures("in_process_ok")


def test_download_verifies_imports_and_links(hub: FakeHub, hub_env: dict[str, str], ws: Workspace,
                                             tmp_path: Path, reporter: Recorder) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    app_uc.add_app(ws, "comfyui", comfy)
    sync_uc.materialize(ws, "comfyui")
    repo = hub.repo("acme/Tiny-Lora", card_data={"license": "mit"})
    weights = repo.add("tiny-lora.safetensors", safetensors_bytes("tiny", 2048))

    dry = uc.download(ws, "acme/Tiny-Lora", dry_run=True)
    assert dry.result.status == "dry-run" and dry.apps is None
    assert [p.action for p in dry.result.files] == ["download"]

    report = uc.download(ws, "acme/Tiny-Lora", ["tiny-lora.safetensors"], reporter=reporter)

    assert report.result.status == "imported" and len(report.result.model_ids) == 1
    meta = ws.library.get(report.result.model_ids[0])
    assert trust_badge(meta) == "verified"
    on_disk = ws.library.model_dir(meta.model_id) / (meta.primary_file or "")
    assert hashlib.sha256(on_disk.read_bytes()).hexdigest() == weights.sha256
    assert report.apps is not None and report.apps.error is None
    assert reporter.phases and reporter.phases[0][0] == "acme/Tiny-Lora" and reporter.advanced >= len(weights.data)


def test_enrich_verifies_a_model_by_its_hash(hub: FakeHub, hub_env: dict[str, str], ws: Workspace) -> None:
    data = safetensors_bytes("llama")
    repo = hub.repo("acme/Llama-Tiny")
    repo.add("llama-tiny.safetensors", data)
    model = add_model(ws.library, "llama-tiny.safetensors", data, pending_online_lookup=True)

    report = uc.enrich(ws)  # the pending ones

    assert report.ids == [model.model_id]
    assert [o.badge for o in report.summary.looked_up] == ["verified"]
    assert report.summary.changed and report.apps is not None


def test_enrich_argument_rules(ws: Workspace) -> None:
    with pytest.raises(PumasError, match="not both"):
        uc.enrich(ws, ["x"], all_models=True)
    with pytest.raises(PumasError, match="already includes"):
        uc.enrich(ws, all_models=True, pending=True)
