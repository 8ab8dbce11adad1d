"""The trash in a real browser: a model page's Delete goes to `pumas rm`'s trash; restore brings it and its links back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from pumasfs.sample.demo import make_comfyui_tree

from .conftest import Server

LORA_ID = "diffusion/sdxl/sdxl-detail-tweaker"


def ids(cli) -> list[str]:
    return [m["model_id"] for m in json.loads(cli("list", "--json").stdout)]


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
def test_delete_then_restore_from_the_trash_page_brings_the_model_and_its_links_back(
    page: Page, server: Server, cli, home: Path, lib_root: Path, shots: Path, color_scheme: str
) -> None:
    comfy = make_comfyui_tree(home / "Downloads" / "ComfyUI", version="0.3.64")
    cli("app", "add", "comfyui", str(comfy))
    cli("materialize", "comfyui")
    link = comfy / "models" / "loras" / "sdxl_detail_tweaker.safetensors"
    assert link.is_symlink() and link.exists()

    page.goto(server.base + f"/model/{LORA_ID}")
    page.get_by_role("button", name="Delete…").click()
    page.locator("#delete-dialog").get_by_role("button", name="Delete").click()
    expect(page).to_have_url(server.base + "/")
    expect(page.locator(".card")).to_have_count(11)
    assert LORA_ID not in ids(cli)
    assert not link.exists() and not link.is_symlink()  # its link left the app first

    page.locator("header nav").get_by_role("link", name="Trash", exact=True).click()
    expect(page).to_have_url(server.base + "/trash")
    row = page.locator(f'tr[data-model="{LORA_ID}"]')
    expect(row).to_contain_text("sdxl_detail_tweaker")
    trashed = json.loads(cli("trash", "list", "--json").stdout)
    assert [t["id"] for t in trashed] == [row.get_attribute("data-item")]  # the page lists `pumas trash list`
    page.screenshot(path=str(shots / f"trash-{color_scheme}.png"))

    row.get_by_role("button", name="Restore").click()
    expect(page.locator(".toast.ok")).to_contain_text(f"Restored {LORA_ID}")
    expect(page.locator(".empty")).to_contain_text("The trash is empty")
    page.screenshot(path=str(shots / f"trash-empty-{color_scheme}.png"))
    assert LORA_ID in ids(cli)
    assert link.is_symlink() and link.exists()  # the apps caught up
    page.goto(server.base + "/")
    expect(page.locator(".card")).to_have_count(12)
    expect(page.locator(f'.card[data-model="{LORA_ID}"]')).to_be_visible()


def test_empty_asks_first_and_keeps_what_is_younger_than_the_age(page: Page, server: Server, cli, shots: Path,
                                                                   allowed_errors: list[str]) -> None:
    allowed_errors += ["Error Code 400 from /trash/empty", "status of 400 (Bad Request) (http://127.0.0.1"]
    cli("rm", "diffusion/sd1/easynegative")
    cli("rm", LORA_ID)
    page.goto(server.base + "/trash")
    expect(page.locator("tr[data-item]")).to_have_count(2)
    page.get_by_role("button", name="Empty…").click()
    dialog = page.locator("#empty-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("tr[data-item]")).to_have_count(2)  # cancelling changes nothing

    page.get_by_role("button", name="Empty…").click()
    dialog.locator('input[name="older_than"]').fill("soon")
    page.screenshot(path=str(shots / "trash-empty-dialog.png"))
    dialog.get_by_role("button", name="Delete for good").click()
    expect(page.locator(".toast.error")).to_contain_text("not an age: 'soon'")  # `trash empty`'s own line

    dialog.locator('input[name="older_than"]').fill("1d")  # both were removed seconds ago: kept
    dialog.get_by_role("button", name="Delete for good").click()
    expect(page.locator(".toast.ok")).to_contain_text("Deleted 0 model(s)")
    expect(page.locator("tr[data-item]")).to_have_count(2)

    page.get_by_role("button", name="Empty…").click()
    dialog.locator('input[name="older_than"]').fill("")
    dialog.get_by_role("button", name="Delete for good").click()
    expect(page.locator(".toast.ok")).to_contain_text("Deleted 2 model(s)")
    expect(page.locator(".empty")).to_contain_text("The trash is empty")
    assert json.loads(cli("trash", "list", "--json").stdout) == []
