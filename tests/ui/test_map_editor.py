"""The mapping editor (issue 14): drag a selection onto a folder, accept the rule, reorder, undo, save."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import Server


def test_drag_a_selection_accept_the_rule_reorder_undo_and_save(
    page: Page, server: Server, cli, tmp_path: Path, comfy: Path, shots: Path, allowed_errors: list[str]
) -> None:
    allowed_errors += ["status of 400", "Error Code 400"]
    page.goto(server.base + "/apps/comfyui/map")
    expect(page.locator(".diff")).to_contain_text("No difference")

    # Select the two text encoders and drag them onto the legacy clip folder.
    for mid in ("diffusion/clip-l/clip-l", "diffusion/t5/t5xxl-fp8-e4m3fn"):
        page.locator(f'.pick[data-model="{mid}"] .pick-box').check()
    page.locator('.pick[data-model="diffusion/clip-l/clip-l"]').drag_to(page.locator('.drop-target[data-folder="clip"]'))
    proposal = page.locator(".proposal")
    expect(proposal).to_contain_text("From 2 model(s)")
    expect(proposal.locator('input[name="crit"][value="subtype"]')).to_be_checked()
    expect(proposal.locator('input[name="crit"][value="family"]')).to_have_count(0)  # they differ in family
    expect(proposal.locator(".catches")).to_contain_text("Catches only the selection")
    page.screenshot(path=str(shots / "map-proposal.png"), full_page=True)
    proposal.get_by_role("button", name="Add rule").click()

    diff = page.locator(".diff")
    expect(diff).to_contain_text("2 moved")
    expect(diff.locator(".diff-list")).to_contain_text("text_encoders/clip_l.safetensors ⇒ clip/clip_l.safetensors")
    expect(page.locator('.tree-chip[data-folder="clip"]')).to_contain_text("2")
    page.screenshot(path=str(shots / "map-editor.png"))
    page.locator(".diff").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "map-editor-diff.png"))

    # The new rule is first; moved to the bottom, the default text_encoders rule wins again.
    rows = page.locator("table.rules tbody tr")
    first = rows.first.get_attribute("data-rule")
    assert first and first.startswith("clip (from 2 models)")
    n = rows.count()
    for k in range(n - 1):
        page.locator(f'table.rules tr[data-rule="{first}"] button[title="Down"]').click()
        expect(rows.nth(k + 1)).to_have_attribute("data-rule", first)
    expect(diff).to_contain_text("No difference")
    for k in range(n - 1, 0, -1):  # undo, step by step, back to where the rule was added
        page.get_by_role("button", name="Undo").click()
        expect(rows.nth(k - 1)).to_have_attribute("data-rule", first)
    expect(diff).to_contain_text("2 moved")

    # An invalid edit is refused with the map validator's message, and changes nothing.
    row = page.locator(f'table.rules tr[data-rule="{first}"]')
    row.locator("summary").click()
    row.locator('input[name="target"]').fill("../outside")
    row.get_by_role("button", name="Apply").click()
    expect(page.locator(".toast.error")).to_contain_text("'..' part")
    expect(diff).to_contain_text("2 moved")

    # Save as the install's own map: `pumas materialize --dry-run --json` now plans what the editor showed.
    shown = sorted(page.locator(".all-links li").evaluate_all("els => els.map(e => e.dataset.path)"))
    page.get_by_role("button", name="Save map").click()
    expect(page.locator(".saved-note")).to_contain_text("comfyui-install-comfyui.json")
    saved = tmp_path / "pumas-root" / "launcher-data" / "config" / "model-library-translation" / "comfyui-install-comfyui.json"
    assert json.loads(saved.read_text())["install"] == "comfyui"
    dry = json.loads(cli("materialize", "comfyui", "--dry-run", "--json").stdout)[0]
    assert sorted(dry["created"]) == shown
    assert "clip/clip_l.safetensors" in dry["created"] and "clip/t5xxl_fp8_e4m3fn.safetensors" in dry["created"]
    expect(diff).to_contain_text("No difference")  # the saved map is now the one in use

    # Revert to the default map: the draft differs from the saved one again, until saved.
    page.get_by_role("button", name="Revert to the default map").click()
    expect(diff).to_contain_text("2 moved")
    expect(diff.locator(".diff-list")).to_contain_text("clip/clip_l.safetensors ⇒ text_encoders/clip_l.safetensors")


def test_save_as_a_variant_for_a_version_range_and_a_bad_range_is_refused(
    page: Page, server: Server, cli, tmp_path: Path, comfy: Path, allowed_errors: list[str]
) -> None:
    allowed_errors += ["status of 400", "Error Code 400"]
    page.goto(server.base + "/apps/comfyui/map")
    page.locator('.pick[data-model="diffusion/flux/flux1-dev-fp8"]').drag_to(page.locator('.drop-target[data-folder="unet"]'))
    page.locator(".proposal").get_by_role("button", name="Add rule").click()
    expect(page.locator(".diff")).to_contain_text("diffusion_models/flux1-dev-fp8.safetensors ⇒ unet/flux1-dev-fp8.safetensors")
    save = page.locator("form", has=page.get_by_role("button", name="Save map"))
    save.locator('input[value="variant"]').check()
    save.locator('input[name="variant"]').fill("unet-layout")
    save.locator('input[name="version_range"]').fill(">=0.3 and <0.4")
    save.get_by_role("button", name="Save map").click()
    expect(page.locator(".toast.error")).to_contain_text("not a PEP 440 version range")
    maps_dir = tmp_path / "pumas-root" / "launcher-data" / "config" / "model-library-translation"
    assert not (maps_dir / "comfyui-unet-layout.json").exists()  # refused: nothing written
    save = page.locator("form", has=page.get_by_role("button", name="Save map"))
    save.locator('input[name="version_range"]').fill(">=0.3,<0.4")
    save.get_by_role("button", name="Save map").click()
    expect(page.locator(".saved-note")).to_contain_text("comfyui-unet-layout.json")
    shown = json.loads(cli("app", "show", "comfyui", "--json").stdout)
    assert shown["variant"] == "unet-layout" and shown["map"]["variant"] == "unet-layout"
    assert "unet/flux1-dev-fp8.safetensors" in json.loads(cli("materialize", "comfyui", "--dry-run", "--json").stdout)[0]["created"]
