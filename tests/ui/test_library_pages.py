"""The library pages in a real browser: grid, list, filters, search, model page, edit, delete."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import Server


def listed(cli) -> list[dict]:
    return json.loads(cli("list", "--json").stdout)


def test_grid_shows_every_model_and_agrees_with_pumas_list(page: Page, server: Server, cli, shots: Path) -> None:
    models = listed(cli)
    assert len(models) == 12
    expect(page.locator(".card")).to_have_count(12)
    expect(page.locator(".count")).to_contain_text("12 models")
    shown = sorted(page.locator(".card").evaluate_all("els => els.map(e => e.dataset.model)"))
    assert shown == sorted(m["model_id"] for m in models)
    lora = page.locator('.card[data-model="diffusion/sdxl/sdxl-detail-tweaker"]')
    expect(lora.locator(".badge.type")).to_have_text("loras")
    expect(lora.locator(".badge.family")).to_have_text("sdxl")
    expect(lora.locator(".badge.trust-unknown")).to_be_visible()
    page.screenshot(path=str(shots / "library-grid.png"))

    page.locator(".seg label", has_text="List").click()
    expect(page.locator("table.models tbody tr")).to_have_count(12)
    assert "view=list" in page.url
    page.screenshot(path=str(shots / "library-list.png"))
    page.reload()  # the address bar holds the view: a reload keeps it
    expect(page.locator("table.models tbody tr")).to_have_count(12)


def test_filter_search_and_sort_page_on_the_server(page: Page, server: Server) -> None:
    page.select_option('select[name="subtype"]', "loras")
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card")).to_have_attribute("data-model", "diffusion/sdxl/sdxl-detail-tweaker")
    assert "subtype=loras" in page.url

    page.select_option('select[name="subtype"]', "")
    page.select_option('select[name="family"]', "sd1")
    expect(page.locator(".card")).to_have_count(4)
    page.select_option('select[name="family"]', "")

    page.fill("#search", "flux")
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card .card-title")).to_have_text("flux1-dev-fp8")
    expect(page.locator(".count")).to_contain_text("matching “flux”")
    page.fill("#search", "nothing-like-this")
    expect(page.locator(".empty")).to_contain_text("No model matches")
    page.fill("#search", "")
    expect(page.locator(".card")).to_have_count(12)

    page.select_option('select[name="sort"]', "-size")
    # The largest sample first: a Diffusers folder (the grid swaps when the server answers).
    expect(page.locator(".card").first).to_have_attribute("data-model", "diffusion/sd1/stable-diffusion-v1-5")
    assert "sort=-size" in page.url

    # A deep link with filters renders the same page without JavaScript's help.
    page.goto(server.base + "/?trust=unknown&type=llm")
    expect(page.locator(".card")).to_have_count(2)


def test_model_page_shows_fields_files_and_trust(page: Page, server: Server, shots: Path) -> None:
    page.locator('.card[data-model="diffusion/sdxl/sdxl-detail-tweaker"] a').click()
    expect(page).to_have_url(server.base + "/model/diffusion/sdxl/sdxl-detail-tweaker")
    expect(page.locator("h1")).to_have_text("sdxl_detail_tweaker")
    expect(page.locator('[data-field="subtype"]')).to_have_text("loras")
    expect(page.locator('[data-field="family"]')).to_have_text("sdxl")
    expect(page.locator(".evidence li").first).to_be_visible()
    expect(page.locator("table.plain").first).to_contain_text("sdxl_detail_tweaker.safetensors")
    page.screenshot(path=str(shots / "model-page.png"), full_page=True)
    page.goto(server.base + "/model/diffusion/none/nothing")
    expect(page.locator(".error-line")).to_contain_text("no model")


def test_edit_saves_through_pumas_edit_and_survives_a_reload(page: Page, server: Server, cli, shots: Path) -> None:
    page.goto(server.base + "/model/diffusion/sdxl/sdxl-detail-tweaker")
    page.get_by_role("button", name="Edit").click()
    dialog = page.locator("#edit-dialog")
    expect(dialog).to_be_visible()
    dialog.locator('input[name="official_name"]').fill("Detail Tweaker XL")
    dialog.locator('input[name="tags"]').fill("detail, sdxl, favourite")
    dialog.locator('textarea[name="notes"]').fill("weight 0.6 works best")
    dialog.locator('input[name="trigger_words"]').fill("detailed, intricate")
    page.screenshot(path=str(shots / "model-edit.png"))
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_have_text("Detail Tweaker XL")
    page.reload()
    expect(page.locator("h1")).to_have_text("Detail Tweaker XL")
    expect(page.locator(".tag-line")).to_contain_text("favourite")
    expect(page.locator(".notes")).to_have_text("weight 0.6 works best")
    shown = json.loads(cli("show", "diffusion/sdxl/sdxl-detail-tweaker", "--json").stdout)
    assert shown["official_name"] == "Detail Tweaker XL"
    assert shown["tags"] == ["detail", "sdxl", "favourite"]
    # Only what the user changed is protected from enrichment; untouched fields stay open.
    assert shown["trigger_words"] == ["detailed", "intricate"]
    assert sorted(shown["user_edited"]) == ["notes", "official_name", "tags", "trigger_words"]
    # Trigger words show on the card when the pointer is over it.
    page.goto(server.base + "/")
    card = page.locator('.card[data-model="diffusion/sdxl/sdxl-detail-tweaker"]')
    card.hover()
    expect(card.locator(".triggers")).to_be_visible()
    expect(card.locator(".triggers")).to_contain_text("intricate")
    page.screenshot(path=str(shots / "library-trigger-words.png"))


def test_edit_family_moves_the_model_and_a_bad_edit_shows_the_cli_message(page: Page, server: Server, cli,
                                                                          allowed_errors: list[str]) -> None:
    allowed_errors += ["status of 400", "[object HTMLFormElement]"]
    page.goto(server.base + "/model/diffusion/sdxl/sdxl-detail-tweaker")
    page.get_by_role("button", name="Edit").click()
    dialog = page.locator("#edit-dialog")
    expect(dialog.locator(".notice.warn")).to_contain_text("moves the model")
    dialog.locator('input[name="family"]').fill("pony")
    dialog.get_by_role("button", name="Save").click()
    # A family pumas does not know is refused with `pumas edit`'s own message, until forced.
    expect(page.locator(".toast.error")).to_contain_text("unknown family 'pony'")
    cli_error = cli("edit", "diffusion/sdxl/sdxl-detail-tweaker", "--set", "family=pony", check=False).stderr
    assert "unknown family 'pony'" in cli_error
    dialog.locator('input[name="force"]').check()
    dialog.get_by_role("button", name="Save").click()
    expect(page).to_have_url(server.base + "/model/diffusion/pony/sdxl-detail-tweaker")
    ids = [m["model_id"] for m in listed(cli)]
    assert "diffusion/pony/sdxl-detail-tweaker" in ids and "diffusion/sdxl/sdxl-detail-tweaker" not in ids

    # Moving onto a model that exists is refused with the library's own message, and nothing moves.
    cli("edit", "diffusion/sd1/easynegative", "--set", "cleaned_name=sdxl-detail-tweaker")
    page.get_by_role("button", name="Edit").click()
    page.locator('#edit-dialog input[name="family"]').fill("sd1")
    page.locator('#edit-dialog input[name="force"]').check()
    page.locator("#edit-dialog").get_by_role("button", name="Save").click()
    expect(page.locator(".toast.error")).to_contain_text("already exists")
    assert "diffusion/pony/sdxl-detail-tweaker" in [m["model_id"] for m in listed(cli)]


def test_delete_asks_first_then_cascades_like_pumas_rm(page: Page, server: Server, cli, lib_root: Path,
                                                        shots: Path) -> None:
    folder = lib_root / "shared-resources" / "models" / "diffusion" / "sd1" / "easynegative"
    assert folder.is_dir()
    page.goto(server.base + "/model/diffusion/sd1/easynegative")
    page.get_by_role("button", name="Delete…").click()
    dialog = page.locator("#delete-dialog")
    expect(dialog).to_contain_text("pumas rm diffusion/sd1/easynegative")
    page.screenshot(path=str(shots / "model-delete.png"))
    dialog.get_by_role("button", name="Cancel").click()
    assert folder.is_dir()  # cancelling changes nothing
    page.get_by_role("button", name="Delete…").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(server.base + "/")
    expect(page.locator(".toast.ok")).to_contain_text("Removed diffusion/sd1/easynegative")
    expect(page.locator(".card")).to_have_count(11)
    assert "diffusion/sd1/easynegative" not in [m["model_id"] for m in listed(cli)]
    assert not folder.exists()
    # Into the same trash `pumas rm` uses: `pumas trash list` shows it.
    trashed = json.loads(cli("trash", "list", "--json").stdout)
    assert [t["model_id"] for t in trashed] == ["diffusion/sd1/easynegative"]
