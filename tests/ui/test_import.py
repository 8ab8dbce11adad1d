"""Importing from the browser: drag-and-drop, the file chooser, "import from this machine", live progress."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.importer.helpers import LORA, lora, write_safetensors

from .conftest import Server

DROP_JS = """async ([files]) => {
  const dt = new DataTransfer();
  for (const [name, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    dt.items.add(new File([bytes], name));
  }
  const fire = (type) => document.body.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
  fire("dragenter"); fire("dragover");
  await new Promise(r => setTimeout(r, 50));
  fire("drop");
}"""

DRAG_ENTER_JS = """() => {
  const dt = new DataTransfer();
  dt.items.add(new File([new Uint8Array(4)], "x.safetensors"));
  document.body.dispatchEvent(new DragEvent("dragenter", {bubbles: true, cancelable: true, dataTransfer: dt}));
}"""


def staging_batches(root: Path) -> list[Path]:
    return sorted((root / "shared-resources" / "models" / ".downloads").glob("import-ui-*"))


def ids(cli) -> list[str]:
    return [m["model_id"] for m in json.loads(cli("list", "--json").stdout)]


def test_drag_and_drop_a_real_file_until_it_is_in_the_grid_and_in_pumas_list(
    page: Page, server: Server, cli, tmp_path: Path, lib_root: Path, shots: Path
) -> None:
    src = lora(tmp_path / "my_style_lora.safetensors", seed=42)
    data = src.read_bytes()
    page.evaluate(DRAG_ENTER_JS)
    expect(page.locator("#drop-overlay")).to_be_visible()
    page.screenshot(path=str(shots / "drop-overlay.png"))

    page.evaluate(DROP_JS, [[["my_style_lora.safetensors", base64.b64encode(data).decode()]]])
    expect(page.locator("#drop-overlay")).to_be_hidden()
    row = page.locator(".tray-item", has_text="my_style_lora.safetensors")
    expect(row).to_be_visible()
    expect(row.locator(".tray-status")).to_contain_text("→ diffusion/", timeout=30_000)
    expect(row).to_have_class("tray-item ok")
    page.screenshot(path=str(shots / "drop-imported.png"))
    # The grid refreshes by itself once the import is done.
    expect(page.locator(".card", has_text="my_style_lora")).to_have_count(1, timeout=10_000)
    expect(page.locator(".count")).to_contain_text("13 models")

    new = [i for i in ids(cli) if i.endswith("/my-style-lora")]
    assert len(new) == 1, ids(cli)
    shown = json.loads(cli("show", new[0], "--json").stdout)
    assert shown["hashes"]["sha256"] == hashlib.sha256(data).hexdigest()  # the bytes the browser sent
    assert shown["subtype"] == "loras"
    # The staging batch is gone, and the importer took the bytes by a link, not a copy.
    assert staging_batches(lib_root) == []

    row.get_by_role("link", name="Open").click()
    expect(page.locator("h1")).to_have_text("my_style_lora")


def test_dropping_a_folder_of_models_and_a_bad_file_reports_each(
    page: Page, server: Server, cli, tmp_path: Path, lib_root: Path
) -> None:
    a = lora(tmp_path / "a_lora.safetensors", seed=7).read_bytes()
    bad = b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header!!}"
    page.evaluate(DROP_JS, [[["a_lora.safetensors", base64.b64encode(a).decode()],
                             ["broken.safetensors", base64.b64encode(bad).decode()]]])
    ok = page.locator(".tray-item", has_text="a_lora.safetensors")
    failed = page.locator(".tray-item", has_text="broken.safetensors")
    expect(ok.locator(".tray-status")).to_contain_text("→ diffusion/", timeout=30_000)
    expect(failed).to_have_class("tray-item failed", timeout=30_000)
    # The same message the CLI prints for the same file.
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "broken.safetensors").write_bytes(bad)
    p = cli("import", tmp_path / "cli" / "broken.safetensors", check=False)
    assert p.returncode != 0
    message = p.stderr.strip().splitlines()[-1].split(": ", 2)[-1]
    expect(failed.locator(".tray-status")).to_contain_text(message)
    # A failed import leaves nothing behind.
    assert staging_batches(lib_root) == []
    assert not any("broken" in i for i in ids(cli))


def test_file_chooser_on_the_import_page(page: Page, server: Server, cli, tmp_path: Path, shots: Path) -> None:
    page.goto(server.base + "/import")
    expect(page.locator(".entries")).to_be_visible()
    page.screenshot(path=str(shots / "import-page.png"))
    src = lora(tmp_path / "chosen_lora.safetensors", seed=99)
    with page.expect_file_chooser() as fc:
        page.locator("#dropzone").click()
    fc.value.set_files(str(src))
    row = page.locator(".tray-item", has_text="chosen_lora.safetensors")
    expect(row.locator(".tray-status")).to_contain_text("→ diffusion/", timeout=30_000)
    assert any(i.endswith("/chosen-lora") for i in ids(cli))


def test_import_from_this_machine_with_the_folder_browser_and_live_progress(
    page: Page, server: Server, cli, home: Path, shots: Path
) -> None:
    downloads = home / "Downloads"
    big = write_safetensors(downloads / "models" / "big_lora.safetensors", LORA, total_size=768 * 1024 * 1024)
    page.goto(server.base + "/import")
    page.locator(".entry.dir", has_text="models").click()
    page.locator(".entry.file", has_text="big_lora.safetensors").click()
    expect(page.locator("#path-input")).to_have_value(str(big))
    page.locator('input[name="mode"][value="move"]').check()
    page.locator("#path-form").get_by_role("button", name="Import").click()
    expect(page.locator(".toast.ok").first).to_be_visible()

    page.goto(server.base + "/activity")
    job = page.locator(".job", has_text="big_lora.safetensors")
    expect(job.locator(".job-state")).to_have_text("done", timeout=60_000)
    expect(job.locator(".res-imported")).to_contain_text("big_lora.safetensors →")
    page.screenshot(path=str(shots / "activity.png"))
    assert not big.exists()  # moved
    assert any(i.endswith("/big-lora") for i in ids(cli))


def test_progress_arrives_live_over_server_sent_events(page: Page, server: Server, home: Path) -> None:
    big = write_safetensors(home / "Downloads" / "huge.safetensors", LORA, total_size=1536 * 1024 * 1024)
    page.goto(server.base + "/activity")
    expect(page.locator('body[data-live="1"]')).to_have_count(1)  # listening before the job starts
    page.evaluate("""async (path) => {
        const body = new FormData(); body.append("path", path); body.append("mode", "move");
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        const r = await fetch("/import/path", {method: "POST", body, headers: {"X-CSRF-Token": csrf}});
        if (!r.ok) throw new Error(await r.text());
    }""", str(big))
    expect(page.locator(".job", has_text="huge.safetensors").locator(".job-state")).to_have_text("done", timeout=90_000)
    events = page.evaluate("window.pumasEventLog.filter(e => e.title.includes('huge.safetensors'))")
    states = [e["state"] for e in events]
    assert states[0] == "queued" and states[-1] == "done", states
    partial = [e for e in events if e["state"] == "running" and e["percent"] is not None and 0 < e["percent"] < 100]
    assert partial, f"no progress between 0 and 100%: {[(e['state'], e['percent']) for e in events]}"
    percents = [e["percent"] for e in partial]
    assert percents == sorted(percents)


def test_paths_outside_the_allowed_folders_are_refused(page: Page, server: Server, home: Path, tmp_path: Path,
                                                       allowed_errors: list[str]) -> None:
    allowed_errors += ["status of 400", "Error Code 400"]
    outside = lora(tmp_path / "outside.safetensors", seed=3)
    (home / "Downloads" / "sneaky").symlink_to(tmp_path)  # a link inside pointing outside
    page.goto(server.base + "/import")
    for path in (str(outside), str(home / "Downloads" / "sneaky" / "outside.safetensors"),
                 str(home / "Downloads" / ".." / ".." / "outside.safetensors")):
        page.fill("#path-input", path)
        page.locator("#path-form").get_by_role("button", name="Import").click()
        expect(page.locator(".toast.error").last).to_contain_text("outside the folders allowed for import")
    assert outside.exists()


def test_a_chosen_folder_uploads_as_one_drop_and_each_model_in_it_is_imported(
    page: Page, server: Server, cli, tmp_path: Path, lib_root: Path
) -> None:
    folder = tmp_path / "my-loras"
    lora(folder / "first_style.safetensors", seed=11)
    lora(folder / "sub" / "second_style.safetensors", seed=12)
    page.goto(server.base + "/import")
    page.locator("#folder-input").set_input_files(str(folder))
    row = page.locator(".tray-item", has_text="my-loras")
    expect(row).to_have_count(1)  # one drop: the folder
    expect(row).to_have_class("tray-item ok", timeout=30_000)
    expect(row.locator(".tray-status")).to_contain_text("first_style.safetensors →")
    expect(row.locator(".tray-status")).to_contain_text("second_style.safetensors →")
    got = ids(cli)
    assert any(i.endswith("/first-style") for i in got) and any(i.endswith("/second-style") for i in got)
    assert staging_batches(lib_root) == []
