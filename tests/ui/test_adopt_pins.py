"""Adopt from an app's page (dry run, then apply) and the pins it leaves, removed from the model page."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from pumasfs.sample.demo import make_comfyui_tree
from tests.support.safetensors import LORA, pickle_file, write_safetensors

from .conftest import Server


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
def test_adopt_dry_run_then_apply_then_unpin(page: Page, server: Server, cli, home: Path, shots: Path,
                                             color_scheme: str) -> None:
    comfy = make_comfyui_tree(home / "Downloads" / "ComfyUI", version="0.3.64")
    m = comfy / "models"
    ink = write_safetensors(m / "loras/styles/style_ink.safetensors", LORA, fill=b"\x03\x09\x21\x03")
    copy = write_safetensors(m / "loras/style_ink_copy.safetensors", LORA, fill=b"\x03\x09\x21\x03")  # same bytes
    pickle_file(m / "upscale_models/evil.pth", [("os", "system")])  # an unsafe pickle: left alone
    before = {p: sha(p) for p in (ink, copy)}
    cli("app", "add", "comfyui", str(comfy))
    dry = json.loads(cli("adopt", "comfyui", "--dry-run", "--json").stdout)
    expected = dry["total"]
    assert expected["files"] == 2 and expected["models"] == 2 and expected["duplicates"] == 1
    assert len(dry["models"]) == 1  # one library model, found at two places

    page.goto(server.base + "/apps/comfyui")
    expect(page.locator("#unmanaged")).to_contain_text("loras/styles/style_ink.safetensors")
    page.get_by_role("button", name="Preview adopt").click()
    report = page.locator("#adopt-report .adopt-report")
    expect(report.locator("h2")).to_contain_text("the dry run")
    for key in ("files", "models", "duplicates"):
        expect(report.locator(f'[data-count="{key}"]')).to_have_text(str(expected[key]))
    expect(report.locator('[data-count="left"]')).to_have_text("1")
    expect(report.locator(".adopt-left")).to_contain_text("unsafe-pickle")
    expect(report.locator(".adopt-models tr[data-path]")).to_have_count(2)
    expect(report.locator("h3").first).to_contain_text("1 library model")
    assert not ink.is_symlink() and sha(ink) == before[ink]  # a dry run changes nothing
    assert json.loads(cli("list", "--json").stdout).__len__() == 12
    report.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"app-adopt-dry-run-{color_scheme}.png"))

    report.get_by_role("button", name="Apply").click()
    expect(report.locator("h2")).to_contain_text("Adopted from comfyui")
    placed = report.locator(".adopt-placed a").first
    model_id = placed.inner_text()
    page.screenshot(path=str(shots / f"app-adopt-applied-{color_scheme}.png"))
    assert model_id in [x["model_id"] for x in json.loads(cli("list", "--json").stdout)]
    for p, digest in before.items():  # every path still gives the same bytes, now from the library
        assert sha(p) == digest
    shown = json.loads(cli("show", model_id, "--json").stdout)
    assert sorted(p["path"] for p in shown["pins"]) == ["loras/style_ink_copy.safetensors",
                                                        "loras/styles/style_ink.safetensors"]

    placed.click()
    expect(page).to_have_url(server.base + f"/model/{model_id}")
    pins = page.locator("table.pins tr[data-pin]")
    expect(pins).to_have_count(2)
    page.locator("table.pins").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"model-pins-{color_scheme}.png"))
    pins.filter(has_text="style_ink_copy").get_by_role("button", name="Unpin").click()
    expect(page.locator(".toast.ok")).to_contain_text("Unpinned comfyui:loras/style_ink_copy.safetensors")
    expect(pins).to_have_count(1)
    shown = json.loads(cli("show", model_id, "--json").stdout)
    assert [p["path"] for p in shown["pins"]] == ["loras/styles/style_ink.safetensors"]  # `pumas unpin`'s result
