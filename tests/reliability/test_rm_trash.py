"""`pumas rm` into the trash, restore, empty; and a kill at every step of rm finishes at the next command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pumasfs.base.paths import Layout
from tests.conftest import assert_one_line_error
from tests.importer.helpers import VAE, lora, write_safetensors
from tests.materializer.conftest import make_comfyui, snapshot
from tests.support.cli import run_on_a_tty

from .conftest import library_models


def links_in(app_models: Path) -> dict[str, str]:
    """Every symlink under the app's models folder -> its target; asserts none dangles."""
    out = {}
    for p in app_models.rglob("*"):
        if p.is_symlink():
            assert p.exists(), f"dangling link {p} -> {os.readlink(p)}"
            out[p.relative_to(app_models).as_posix()] = os.readlink(p)
    return out


@pytest.fixture
def setup(root: Path, tmp_path: Path, pumas):
    """Three imported models (two loras with different bytes, a vae), one materialized ComfyUI install."""
    dl = tmp_path / "Downloads"
    srcs = [lora(dl / "detail.safetensors", 1), lora(dl / "loras" / "style.safetensors", 2),
            write_safetensors(dl / "vae.safetensors", VAE, fill=b"\x09")]
    (dl / "detail.preview.png").write_bytes(b"\x89PNG preview")
    ids = [r["model_id"] for r in pumas("import", "--json", *srcs).json()]
    comfy = make_comfyui(tmp_path / "ComfyUI")
    (comfy / "models" / "loras" / "users-own.safetensors").write_bytes(b"mine")
    pumas("app", "add", "comfyui", comfy)
    pumas("materialize", "comfyui")
    assert len(links_in(comfy / "models")) >= 3
    return ids, comfy


def bytes_of(models: Path) -> int:
    return sum(p.stat().st_size for p in models.rglob("*") if p.is_file() and "metadata" not in p.name
               and ".journal" not in p.parts and not p.name.endswith(".db") and "-wal" not in p.name
               and "-shm" not in p.name and p.name != "item.json" and ".downloads" not in p.parts)


def test_rm_goes_to_trash_and_restore_brings_links_back(root: Path, pumas, setup):
    ids, comfy = setup
    before = links_in(comfy / "models")
    models = Layout(root).models_dir
    total = bytes_of(models)
    out = pumas("rm", "--json", ids[0]).json()  # not a terminal: no question
    [removed] = out["removed"]
    assert removed["links"] >= 1 and removed["trash_id"]
    assert ids[0] not in [m["model_id"] for m in pumas("list", "--json").json()]
    assert len(links_in(comfy / "models")) < len(before)
    assert (comfy / "models/loras/users-own.safetensors").read_bytes() == b"mine"
    assert bytes_of(models) == total  # nothing deleted: it is in the trash
    [item] = pumas("trash", "list", "--json").json()
    assert item["id"] == removed["trash_id"] and item["model_id"] == ids[0]
    assert item["id"] in pumas("trash", "list").stdout

    pumas("trash", "restore", item["id"])
    assert links_in(comfy / "models") == before
    assert ids[0] in [m["model_id"] for m in pumas("list", "--json").json()]
    assert pumas("trash", "list", "--json").json() == []
    assert_one_line_error(pumas("trash", "restore", item["id"], check=False))


def test_rm_of_several_is_not_stopped_by_one(root: Path, pumas, setup):
    ids, comfy = setup
    r = pumas("rm", ids[0], "no-such-model", ids[1], check=False)
    assert r.returncode == 5, r
    assert "no-such-model" in r.stderr and "Traceback" not in r.stderr
    left = [m["model_id"] for m in pumas("list", "--json").json()]
    assert left == [ids[2]]
    assert len(pumas("trash", "list", "--json").json()) == 2
    links_in(comfy / "models")
    assert pumas("rm", "nothing-here", check=False).returncode == 4


def test_rm_asks_on_a_terminal(root: Path, tmp_path: Path, setup):
    """A real pseudo-terminal: `n` keeps the model, `--yes` does not ask."""
    ids, _ = setup
    env = {**os.environ, "HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    env.pop("PUMAS_HOME", None)

    def on_tty(*args: str, answer: bytes) -> tuple[int, str]:
        code, out = run_on_a_tty(*args, root=root, env=env, answer=answer)
        return code, out.decode(errors="replace")

    code, out = on_tty("rm", ids[0], answer=b"n\n")
    assert code == 0 and "Move 1 model(s) to the trash?" in out and "nothing removed" in out
    code, out = on_tty("rm", "--yes", ids[0], answer=b"")
    assert code == 0 and "removed" in out and "?" not in out.split("removed")[0]


def test_trash_empty_and_automatic_emptying(root: Path, pumas, setup):
    ids, _ = setup
    models = Layout(root).models_dir
    pumas("rm", ids[0])
    dry = pumas("trash", "empty", "--older-than", "30d", "--dry-run", "--json").json()
    assert dry["deleted"] == [] and dry["kept"] == 1
    dry = pumas("trash", "empty", "--dry-run", "--json").json()
    assert len(dry["deleted"]) == 1
    assert len(pumas("trash", "list", "--json").json()) == 1
    # Keep nothing: the next removal deletes the older item for good.
    pumas("trash", "keep", "0")
    out = pumas("rm", "--json", ids[1]).json()
    assert len(out["emptied"]) >= 1
    left = pumas("trash", "list", "--json").json()
    assert [i["model_id"] for i in left] in ([], [ids[1]])
    done = pumas("trash", "empty", "--json").json()
    assert pumas("trash", "list", "--json").json() == []
    assert not any((models / ".trash").iterdir())
    assert done["dry_run"] is False
    assert_one_line_error(pumas("trash", "empty", "--older-than", "soon", check=False))


STEPS = ["rm:after-intent", "rm:after-unlink", "rm:after-trash", "rm:after-index"]


@pytest.mark.parametrize("step", STEPS)
def test_kill_at_each_step_of_rm_finishes_at_next_command(root: Path, pumas, killed_at, setup, step):
    ids, comfy = setup
    models = Layout(root).models_dir
    total = bytes_of(models)
    app_before = snapshot(comfy / "models")
    killed_at(step, "rm", ids[0], ids[1])

    # The next command, whatever it is, sees the removal finished.
    listed = [m["model_id"] for m in pumas("list", "--json").json()]
    assert ids[0] not in listed and ids[1] in listed
    assert listed == library_models(models)
    assert pumas("show", ids[0], check=False).returncode == 4
    [item] = pumas("trash", "list", "--json").json()
    assert item["model_id"] == ids[0]
    assert bytes_of(models) == total  # not a byte lost
    # sync leaves no dangling link and re-creates none; the user's own file is untouched.
    pumas("sync")
    now = links_in(comfy / "models")
    assert not any(ids[0].rsplit("/", 1)[1] in t for t in now.values())
    assert (comfy / "models/loras/users-own.safetensors").read_bytes() == b"mine"
    # rm of the rest works; restore brings everything back as it was.
    pumas("rm", ids[1])
    for i in pumas("trash", "list", "--json").json():
        pumas("trash", "restore", i["id"])
    assert snapshot(comfy / "models").keys() == app_before.keys()
    assert list((models / ".journal").iterdir()) == []


def test_restore_after_the_same_bytes_came_back_is_refused(root: Path, tmp_path: Path, pumas, setup):
    ids, _ = setup
    pumas("rm", ids[2])
    [item] = pumas("trash", "list", "--json").json()
    again = pumas("import", "--json", tmp_path / "Downloads" / "vae.safetensors").json()[0]
    assert again["status"] == "imported"
    r = pumas("trash", "restore", item["id"], check=False)
    assert_one_line_error(r)
    assert again["model_id"] in r.stderr
    pumas("rm", again["model_id"])
    pumas("trash", "restore", item["id"])
    assert ids[2] in [m["model_id"] for m in pumas("list", "--json").json()]


def test_kill_while_emptying_the_trash(root: Path, pumas, killed_at, setup):
    ids, _ = setup
    models = Layout(root).models_dir
    pumas("rm", ids[0], ids[1])
    killed_at("trash:after-hide", "trash", "empty")
    # The half-deleted item is never listed (nor restorable); the next empty finishes it.
    left = pumas("trash", "list", "--json").json()
    assert len(left) == 1
    assert any(p.name.startswith(".deleting-") for p in (models / ".trash").iterdir())
    pumas("trash", "empty")
    assert list((models / ".trash").iterdir()) == []
    assert [m["model_id"] for m in pumas("list", "--json").json()] == [ids[2]]
