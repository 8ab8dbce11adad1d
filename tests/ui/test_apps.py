"""The apps pages (issue 14, first part): add an install, its page, the plan preview, materialize, remove."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from pumasfs.sample.demo import make_comfyui_tree

from .conftest import Server


def test_add_a_found_install_and_see_exactly_the_plan_materialize_would_apply(
    page: Page, server: Server, cli, home: Path, shots: Path
) -> None:
    comfy = make_comfyui_tree(home / "Downloads" / "ComfyUI", version="0.3.64")
    page.goto(server.base + "/apps")
    expect(page.locator(".empty")).to_contain_text("No app yet")
    found = page.locator(".found li", has_text=str(comfy))
    expect(found).to_contain_text("0.3.64")
    page.screenshot(path=str(shots / "apps.png"))
    found.get_by_role("button", name="Add").click()
    expect(page).to_have_url(server.base + "/apps/comfyui")
    expect(page.locator(".kv").first).to_contain_text("comfyui")  # the map in use and why

    # The plan preview is the Plan: the same paths `materialize --dry-run --json` would create.
    dry = json.loads(cli("materialize", "comfyui", "--dry-run", "--json").stdout)[0]
    shown = sorted(page.locator("#plan li[data-path]").evaluate_all("els => els.map(e => e.dataset.path)"))
    assert shown == sorted(dry["created"]) and shown
    lora = page.locator('#plan .tree-folder[data-folder="loras"]')
    lora.locator("summary").click()
    expect(lora).to_contain_text("diffusion/sdxl/sdxl-detail-tweaker")
    # LLMs are left out of ComfyUI, with the planner's reason.
    expect(page.locator('#excluded tr[data-model="llm/llama/tiny-llama-q8-0"]')).to_contain_text("excluded-type")
    page.screenshot(path=str(shots / "app-page.png"), full_page=True)

    page.get_by_role("button", name="Preview materialize").click()
    report = page.locator("#sync-report .report")
    expect(report).to_contain_text(f"would create {len(dry['created'])}")
    assert not (comfy / "models" / "loras" / "sdxl_detail_tweaker.safetensors").exists()  # a dry run
    page.screenshot(path=str(shots / "app-dry-run.png"))
    report.get_by_role("button", name="Apply").click()
    expect(page.locator("#sync-report .report h2")).to_contain_text("Materialized comfyui")
    assert (comfy / "models" / "loras" / "sdxl_detail_tweaker.safetensors").is_symlink()
    page.reload()
    expect(page.locator("#link-total")).to_have_text(str(len(dry["created"])))
    expect(page.locator('#folder-counts tr[data-folder="loras"] td').nth(1)).to_have_text("1")


def test_conflicts_are_shown_and_nothing_is_applied_then_remove_asks_first(
    page: Page, server: Server, cli, comfy: Path, shots: Path
) -> None:
    mine = comfy / "models" / "loras" / "sdxl_detail_tweaker.safetensors"
    mine.write_bytes(b"the user's own file")
    page.goto(server.base + "/apps/comfyui")
    expect(page.locator("#unmanaged")).to_contain_text("loras/sdxl_detail_tweaker.safetensors")
    expect(page.locator("#fs-app")).to_be_visible()
    page.get_by_role("button", name="Preview materialize").click()
    report = page.locator("#sync-report .report")
    expect(report.locator(".conflicts")).to_contain_text(str(mine))
    report.get_by_role("button", name="Apply").click()
    expect(page.locator("#sync-report .not-applied")).to_contain_text("Nothing was applied")
    page.screenshot(path=str(shots / "app-conflicts.png"))
    assert mine.read_bytes() == b"the user's own file"
    assert not any(p.is_symlink() for p in (comfy / "models").rglob("*"))  # nothing applied anywhere

    mine.unlink()
    cli("materialize", "comfyui")
    page.reload()
    page.get_by_role("button", name="Remove…").click()
    page.locator("#remove-dialog").get_by_role("button", name="Cancel").click()
    assert any(p.is_symlink() for p in (comfy / "models").rglob("*"))
    page.get_by_role("button", name="Remove…").click()
    page.locator("#remove-dialog").get_by_role("button", name="Remove").click()
    expect(page).to_have_url(server.base + "/apps")
    expect(page.locator(".empty")).to_contain_text("No app yet")
    assert not any(p.is_symlink() for p in (comfy / "models").rglob("*"))
    assert (comfy / "models" / "loras" / "put_loras_here").exists()  # the app's own files stay
    assert json.loads(cli("app", "list", "--json").stdout) == []


def test_version_constraints_are_validated_and_leave_the_model_out_of_other_versions(
    page: Page, server: Server, cli, tmp_path: Path, comfy: Path, allowed_errors: list[str]
) -> None:
    allowed_errors += ["status of 400", "Error Code 400"]
    page.goto(server.base + "/model/diffusion/sdxl/sdxl-detail-tweaker")
    form = page.locator("form.overrides")
    form.locator('input[name="app"]').first.fill("comfyui")
    form.locator('input[name="range"]').first.fill(">=0.4 and sane")
    form.get_by_role("button", name="Save constraints").click()
    expect(page.locator(".toast.error")).to_contain_text("not a PEP 440 specifier")
    folder = tmp_path / "pumas-root" / "shared-resources" / "models" / "diffusion" / "sdxl" / "sdxl-detail-tweaker"
    assert not (folder / "overrides.json").exists()
    form.locator('input[name="range"]').first.fill(">=0.4")
    with page.expect_navigation():  # saved, then the page reloads from the server
        form.get_by_role("button", name="Save constraints").click()
    expect(page.locator('form.overrides input[name="range"]').first).to_have_value(">=0.4")
    assert json.loads((folder / "overrides.json").read_text())["version_ranges"] == {"comfyui": ">=0.4"}
    page.goto(server.base + "/apps/comfyui")
    expect(page.locator('#excluded tr[data-model="diffusion/sdxl/sdxl-detail-tweaker"]')).to_contain_text("overrides")


def test_mount_and_unmount_a_view_from_the_app_page(page: Page, server: Server, cli, home: Path,
                                                    allowed_errors: list[str]) -> None:
    import os
    import subprocess

    if not os.path.exists("/dev/fuse"):
        import pytest

        pytest.skip("no /dev/fuse on this machine: FUSE views cannot be mounted")
    allowed_errors += ["status of 400", "Error Code 400"]
    comfy = make_comfyui_tree(home / "Downloads" / "ComfyUI")
    cli("app", "add", "comfyui", comfy)
    mp = home / "Downloads" / "comfy-view"
    page.goto(server.base + "/apps/comfyui")
    page.fill('#views input[name="mountpoint"]', "/tmp/outside-allowed-view")
    page.get_by_role("button", name="Mount view").click()
    expect(page.locator(".toast.error")).to_contain_text("outside the folders allowed")
    page.fill('#views input[name="mountpoint"]', str(mp))
    try:
        with page.expect_navigation():
            page.get_by_role("button", name="Mount view").click()
        expect(page.locator(f'#views tr[data-mountpoint="{mp}"]')).to_contain_text("active")
        assert (mp / "loras" / "sdxl_detail_tweaker.safetensors").is_symlink()  # the plan, live
        assert not (comfy / "models" / "loras" / "sdxl_detail_tweaker.safetensors").exists()  # nothing in the app
        with page.expect_navigation():
            page.locator(f'#views tr[data-mountpoint="{mp}"]').get_by_role("button", name="Unmount").click()
        expect(page.locator(f'#views tr[data-mountpoint="{mp}"]')).to_have_count(0)
        assert not os.path.ismount(mp)
    finally:
        if os.path.ismount(mp):
            subprocess.run(["fusermount3", "-uz", str(mp)], check=False)
