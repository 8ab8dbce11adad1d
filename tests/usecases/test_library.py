"""Library use cases (list, show, edit, scan), called directly as a web handler would."""

from __future__ import annotations

from pathlib import Path

import pytest

from pumasfs.base.errors import NotFound, PumasError
from pumasfs.planning.installs import load_apps
from pumasfs.usecases import apps as app_uc
from pumasfs.usecases import library as uc
from pumasfs.usecases import listing as listing_uc
from pumasfs.usecases import sync as sync_uc
from pumasfs.usecases.workspace import Workspace

from ..materializer.conftest import add_model, make_comfyui
from .conftest import Recorder


@pytest.fixture
def stocked(ws: Workspace) -> Workspace:
    lib = ws.library
    add_model(lib, "dreamshaper-8", family="sd1")
    add_model(lib, "juggernautXL", family="sdxl")
    add_model(lib, "detail-tweaker", family="sd1", subtype="loras")
    return ws


def test_list_models_filters_and_orders(stocked: Workspace) -> None:
    everything = listing_uc.list_models(stocked)
    assert [r.model_id for r in everything] == sorted(r.model_id for r in everything)
    assert len(everything) == 3
    loras = listing_uc.list_models(stocked, listing_uc.ModelFilter(subtype="loras"))
    assert [r.meta.cleaned_name for r in loras] == ["detail-tweaker"]
    assert listing_uc.ModelFilter(family="sd1").active and not listing_uc.ModelFilter().active


def test_show_model_lists_its_links_in_every_app(stocked: Workspace, tmp_path: Path) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    app_uc.add_app(stocked, "comfyui", comfy)
    sync_uc.materialize(stocked, "comfyui")

    details = uc.show_model(stocked, "dreamshaper-8")

    assert details.meta.model_id == "diffusion/sd1/dreamshaper-8"
    link_path = comfy / "models" / "checkpoints" / "dreamshaper-8.safetensors"
    assert [(link["app"], link["path"]) for link in details.links] == [("comfyui", str(link_path))]
    assert (comfy / "models" / "checkpoints" / "dreamshaper-8.safetensors").is_symlink()


def test_show_model_of_an_unknown_id_is_not_found(stocked: Workspace) -> None:
    with pytest.raises(NotFound):
        uc.show_model(stocked, "no-such-model")


def test_edit_refuses_an_unknown_family_and_names_the_known_ones(stocked: Workspace) -> None:
    with pytest.raises(PumasError) as e:
        uc.edit_model(stocked, "juggernautxl", {"family": "sdxxl"})
    assert "sdxl" in e.value.message and "--force" in e.value.message
    assert stocked.library.get("diffusion/sdxl/juggernautxl").family == "sdxl"  # nothing moved


def test_edit_refuses_an_unknown_subtype_unless_forced(stocked: Workspace) -> None:
    with pytest.raises(PumasError, match="unknown subtype 'lora'"):
        uc.edit_model(stocked, "detail-tweaker", {"subtype": "lora"})
    result = uc.edit_model(stocked, "detail-tweaker", {"subtype": "lora"}, force=True)
    assert result.meta.subtype == "lora"


def test_edit_accepts_a_family_the_library_already_holds(stocked: Workspace) -> None:
    add_model(stocked.library, "odd-one", family="my-base")
    result = uc.edit_model(stocked, "dreamshaper-8", {"family": "my-base"})
    assert result.meta.model_id == "diffusion/my-base/dreamshaper-8"


def test_edit_that_moves_a_model_relinks_it_in_the_apps(stocked: Workspace, tmp_path: Path,
                                                       reporter: Recorder) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    app_uc.add_app(stocked, "comfyui", comfy)
    sync_uc.materialize(stocked, "comfyui")

    result = uc.edit_model(stocked, "dreamshaper-8", uc.parse_sets(["family=sdxl", "tags=a,b"]), reporter=reporter)

    assert result.moved and result.old_id == "diffusion/sd1/dreamshaper-8"
    assert result.meta.model_id == "diffusion/sdxl/dreamshaper-8" and result.meta.tags == ["a", "b"]
    assert result.apps.error is None and [r.app for r in result.apps.reports] == ["comfyui"]
    link = comfy / "models" / "checkpoints" / "dreamshaper-8.safetensors"
    assert link.is_symlink() and "diffusion/sdxl/dreamshaper-8" in str(link.resolve())
    assert reporter.warnings == []


def test_parse_sets_refuses_a_set_without_equals() -> None:
    with pytest.raises(PumasError, match="FIELD=VALUE"):
        uc.parse_sets(["family"])


def test_scan_reports_broken_metadata_through_the_reporter(stocked: Workspace, reporter: Recorder) -> None:
    broken = stocked.library.model_dir("diffusion/sd1/dreamshaper-8") / "metadata.json"
    broken.write_text("{ not json")

    report = uc.scan(stocked, reporter)

    assert report.loaded == 2 and report.removed == ["diffusion/sd1/dreamshaper-8"]
    assert len(report.errors) == 1 and str(broken) in report.errors[0]
    assert reporter.warnings == report.errors
    assert reporter.phases == [("scanning", None, "models")] and reporter.advanced == 2


def test_apps_file_untouched_by_reading_use_cases(stocked: Workspace) -> None:
    listing_uc.list_models(stocked)
    uc.show_model(stocked, "dreamshaper-8")
    assert load_apps(stocked.layout).apps == []
