"""import_models: import, hub lookup and the apps' catch-up in one call, with a typed report."""

from __future__ import annotations

from pathlib import Path

import pytest

from pumasfs.base.errors import EXIT_ERROR, EXIT_PARTIAL
from pumasfs.importing.importer import ImportOptions
from pumasfs.sample.samples import write_sample_library
from pumasfs.usecases import apps as app_uc
from pumasfs.usecases import sync as sync_uc
from pumasfs.usecases.imports import import_models
from pumasfs.usecases.workspace import Workspace

from ..importer.helpers import lora, pickle_file
from ..materializer.conftest import make_comfyui
from .conftest import Recorder


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_import_looks_up_and_links_into_materialized_apps(ws: Workspace, tmp_path: Path,
                                                          reporter: Recorder) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    app_uc.add_app(ws, "comfyui", comfy)
    sync_uc.materialize(ws, "comfyui")
    sources = write_sample_library(tmp_path / "downloads")[:3]

    report = import_models(ws, sources, ImportOptions(), reporter=reporter)

    assert len(report.imported) == 3 and report.failed == [] and report.error() is None
    assert report.lookup is not None and report.lookup.status == "offline"
    assert sorted(report.lookup.pending) == sorted(report.imported)
    assert report.apps is not None and report.apps.error is None
    linked = {p.name for p in (comfy / "models").rglob("*") if p.is_symlink()}
    assert {src.name for src in sources} <= linked
    total = sum(src.stat().st_size for src in sources)
    assert reporter.phases == [("importing", total, "bytes")] and reporter.advanced == total


def test_no_lookup_and_no_apps(ws: Workspace, tmp_path: Path) -> None:
    report = import_models(ws, [lora(tmp_path / "detail.safetensors")], ImportOptions(), lookup=False)
    assert report.lookup is None and report.apps is not None and report.apps.reports == []
    assert [r.status for r in report.results] == ["imported"]


def test_a_refused_file_in_a_dry_run_is_a_failure(ws: Workspace, tmp_path: Path) -> None:
    bad = pickle_file(tmp_path / "evil.ckpt", [("os", "system")])
    report = import_models(ws, [bad], ImportOptions(dry_run=True))

    assert [r.status for r in report.results] == ["dry-run"] and report.results[0].refused
    error = report.error()
    assert error is not None and error.exit_code == EXIT_ERROR and "would refuse" in error.message
    assert not any(ws.layout.models_dir.rglob("metadata.json"))  # a dry run writes nothing


def test_some_failed_is_partial(ws: Workspace, tmp_path: Path) -> None:
    good = lora(tmp_path / "good.safetensors")
    missing = tmp_path / "missing.safetensors"
    report = import_models(ws, [good, missing], ImportOptions(), lookup=False)

    assert len(report.imported) == 1 and [Path(r.source).name for r in report.failed] == ["missing.safetensors"]
    error = report.error()
    assert error is not None and error.exit_code == EXIT_PARTIAL


def test_the_progress_names_each_file_being_read(ws: Workspace, tmp_path: Path, reporter: Recorder) -> None:
    sources = [lora(tmp_path / f"lora-{i}.safetensors", seed=i) for i in range(3)]
    import_models(ws, sources, ImportOptions(), lookup=False, reporter=reporter)
    assert sorted(reporter.items) == [s.name for s in sources]
