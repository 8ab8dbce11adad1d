"""Models linked into an app: counts on the cards, the app filter, links on the model page, previews, sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.importer.helpers import lora

from .conftest import Server

PNG = bytes.fromhex(  # a real 2x2 PNG
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73000000164944415478"
    "9c63f8cfc0f09f8181e13f030303c3ff0c0c0c00001b0e03fd7c5a4ba30000000049454e44ae426082"
)


@pytest.fixture(params=["dark"])
def color_scheme(request: pytest.FixtureRequest) -> str:
    return str(request.param)  # these pages are looked at in the dark theme


def test_cards_count_apps_and_the_model_page_lists_links(page: Page, server: Server, cli, tmp_path: Path, comfy: Path,
                                                          shots: Path) -> None:
    cli("materialize", "comfyui")
    page.reload()
    lora_card = page.locator('.card[data-model="diffusion/sdxl/sdxl-detail-tweaker"]')
    expect(lora_card.locator(".card-foot")).to_contain_text("1 app")
    page.select_option('select[name="app"]', "comfyui")
    expect(page.locator(".count")).to_contain_text("models")
    page.screenshot(path=str(shots / "library-grid-dark.png"))

    lora_card.locator("a").click()
    expect(page.locator("table.plain").first).to_contain_text("comfyui")
    expect(page.locator("table.plain").first).to_contain_text("models/loras/")
    page.screenshot(path=str(shots / "model-page-dark.png"), full_page=True)
    link = comfy / "models" / "loras" / "sdxl_detail_tweaker.safetensors"
    assert link.is_symlink()

    # A model with a preview: the card shows the picture, served from the model's folder only.
    src = lora(tmp_path / "in" / "pretty.safetensors", seed=5)
    (tmp_path / "in" / "pretty.preview.png").write_bytes(PNG)
    cli("import", src, "--no-lookup")
    page.goto(server.base + "/?q=pretty")
    img = page.locator(".card img")
    expect(img).to_have_count(1)
    assert page.evaluate("document.querySelector('.card img').naturalWidth") == 2

    # The import linked it already (its own catch-up); a sync from the Activity page runs `pumas sync`
    # and reports each app, with nothing left to do.
    page.goto(server.base + "/activity")
    page.get_by_role("button", name="Sync every app").click()
    job = page.locator(".job", has_text="Sync every app")
    expect(job.locator(".job-state")).to_have_text("done", timeout=30_000)
    expect(job.locator(".job-results")).to_contain_text("comfyui (incremental): create 0")
    assert any(p.name.startswith("pretty") for p in (comfy / "models" / "loras").iterdir())
    page.screenshot(path=str(shots / "activity-dark.png"))
