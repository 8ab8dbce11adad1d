"""The trust filter offers the CivitAI badges (beside Hugging Face's), against a fake CivitAI on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.civitai.conftest import civ, civ_env, lora_bytes, lora_on_civitai  # noqa: F401 (fixtures)

from .conftest import Server

LINKED = "diffusion/sdxl/sdxl-detail-tweaker"


@pytest.fixture
def server_env(civ_env: dict[str, str]) -> dict[str, str]:  # noqa: F811
    return civ_env


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
def test_trust_filter_offers_civitai_verified_and_linked(page: Page, server: Server, cli, civ, home: Path,  # noqa: F811
                                                        shots: Path, color_scheme: str) -> None:
    _, v, _ = lora_on_civitai(civ, "tweaker")
    cli("link", LINKED, f"civitai:{v.id}")  # the user says which CivitAI version it is: civitai-linked
    lora_on_civitai(civ, "ink", name="Ink Style", file_name="ink_style.safetensors")
    dropped = home / "Downloads" / "ink_style.safetensors"
    dropped.write_bytes(lora_bytes("ink"))
    cli("import", str(dropped))  # CivitAI knows these exact bytes: civitai-verified
    models = {m["model_id"]: m for m in json.loads(cli("list", "--json").stdout)}
    verified = [mid for mid, m in models.items() if (m.get("civitai") or {}).get("trust") == "hash"]
    assert len(verified) == 1 and models[LINKED]["civitai"]["trust"] == "user"

    page.goto(server.base + "/")
    trust = page.locator('select[name="trust"]')
    expect(trust.locator('option[value="civitai-verified"]')).to_have_text("civitai-verified · 1")
    expect(trust.locator('option[value="civitai-linked"]')).to_have_text("civitai-linked · 1")
    page.select_option('select[name="trust"]', "civitai-verified")
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card")).to_have_attribute("data-model", verified[0])
    expect(page.locator(".card .badge.civitai")).to_have_text("civitai-verified")
    assert "trust=civitai-verified" in page.url
    page.screenshot(path=str(shots / f"library-trust-civitai-{color_scheme}.png"))
    page.select_option('select[name="trust"]', "civitai-linked")
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card")).to_have_attribute("data-model", LINKED)
    expect(page.locator(".card .badge.civitai")).to_have_text("civitai-linked")
    # The Hugging Face badges still filter as before: 13 models, none verified on Hugging Face.
    page.goto(server.base + "/?trust=unknown")
    expect(page.locator(".card")).to_have_count(13)
