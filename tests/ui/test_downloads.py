"""The download queue: one at a time, live progress, cancel, and it survives a page reload.

The hub is the fake one the hub tests use (a real HTTP server on 127.0.0.1),
reached by the real huggingface_hub client inside the real `pumas ui` process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.hub.conftest import hub_environment, safetensors_bytes
from tests.hub.fakehub import FakeHub

from .conftest import Server

MIB = 1 << 20


@pytest.fixture
def server_env(hub: FakeHub, tmp_path: Path) -> dict[str, str]:
    return hub_environment(hub, tmp_path / "hf-home")


def queue(page: Page, repo: str, files: str) -> None:
    page.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + "/import")
    form = page.locator("form", has=page.locator('input[name="repo"]'))
    form.locator('input[name="repo"]').fill(repo)
    form.locator('input[name="files"]').fill(files)
    form.get_by_role("button", name="Queue download").click()
    expect(page.locator(".toast.ok").last).to_contain_text("Started")


def test_queue_runs_one_at_a_time_survives_a_reload_and_cancels(page: Page, server: Server, hub: FakeHub, cli,
                                                                shots: Path) -> None:
    slow = hub.repo("acme/Slow-Model", pipeline_tag="text-to-image")
    slow.add("slow-model.safetensors", safetensors_bytes("slow", (24 * MIB) // 4))
    hub.stall_after["slow-model.safetensors"] = 2 * MIB  # the first transfer hangs until released
    quick = hub.repo("acme/Quick-Model", pipeline_tag="text-to-image")
    quick.add("quick-model.safetensors", safetensors_bytes("quick", 4096))

    queue(page, "acme/Slow-Model", "slow-model.safetensors")
    queue(page, "acme/Quick-Model", "quick-model.safetensors")
    page.goto(server.base + "/activity")
    slow_job = page.locator(".job", has_text="acme/Slow-Model")
    quick_job = page.locator(".job", has_text="acme/Quick-Model")
    expect(slow_job.locator(".job-state")).to_have_text("running", timeout=30_000)
    expect(quick_job.locator(".job-state")).to_have_text("queued")  # downloads run one at a time

    page.reload()  # the queue lives in the server: a reload shows the same jobs in the same states
    expect(slow_job.locator(".job-state")).to_have_text("running")
    expect(quick_job.locator(".job-state")).to_have_text("queued")
    page.screenshot(path=str(shots / "activity-downloads.png"))

    slow_job.get_by_role("button", name="Cancel").click()
    hub.release.set()  # let the hung transfer end: the client resumes, and the next progress call stops it
    expect(slow_job.locator(".job-state")).to_have_text("cancelled", timeout=60_000)
    expect(quick_job.locator(".job-state")).to_have_text("done", timeout=60_000)

    models = {m["model_id"]: m for m in json.loads(cli("list", "--json").stdout)}
    quick_ids = [i for i in models if "quick-model" in i]
    assert len(quick_ids) == 1 and models[quick_ids[0]]["hub_repo"] == "acme/Quick-Model"
    assert not any("slow-model" in i for i in models)
    jobs = json.loads(page.evaluate("fetch('/api/jobs').then(r => r.text())"))
    assert [j["state"] for j in jobs if j["kind"] == "download"] == ["done", "cancelled"]


def test_a_download_error_shows_the_cli_message(page: Page, server: Server, hub: FakeHub, cli) -> None:
    queue(page, "acme/Missing-Model", "nothing.safetensors")
    page.goto(server.base + "/activity")
    job = page.locator(".job", has_text="acme/Missing-Model")
    expect(job.locator(".job-state")).to_have_text("failed", timeout=30_000)
    p = cli("download", "acme/Missing-Model", "nothing.safetensors", check=False)
    assert p.returncode != 0
    expect(job.locator(".job-error")).to_have_text(p.stderr.strip().removeprefix("pumas: "))


def test_related_files_on_the_model_page_download_with_one_click(page: Page, server: Server, hub: FakeHub, cli,
                                                                  shots: Path) -> None:
    repo = hub.repo("acme/Family-Model", pipeline_tag="text-to-image")
    repo.add("family-model-fp16.safetensors", safetensors_bytes("fp16", 4096))
    repo.add("family-model-fp32.safetensors", safetensors_bytes("fp32", 8192))
    cli("download", "acme/Family-Model", "family-model-fp16.safetensors")
    (model_id,) = [m["model_id"] for m in json.loads(cli("list", "--json").stdout) if "family-model" in m["model_id"]]

    page.goto(server.base + "/model/" + model_id)
    expect(page.locator(".badge.trust-verified").first).to_be_visible()
    page.get_by_role("button", name="Look up").click()
    row = page.locator("#related tr", has_text="family-model-fp32.safetensors")
    expect(row).to_be_visible(timeout=30_000)
    expect(page.locator("#related")).not_to_contain_text("family-model-fp16.safetensors")  # its own file
    page.screenshot(path=str(shots / "model-related.png"), full_page=True)
    row.get_by_role("button", name="Download").click()
    expect(page.locator(".toast.ok").last).to_contain_text("Started")
    page.goto(server.base + "/activity")
    job = page.locator(".job", has_text="family-model-fp32.safetensors")
    expect(job.locator(".job-state")).to_have_text("done", timeout=60_000)
    ids = [m["model_id"] for m in json.loads(cli("list", "--json").stdout) if "family-model" in m["model_id"]]
    assert len(ids) == 2, ids
