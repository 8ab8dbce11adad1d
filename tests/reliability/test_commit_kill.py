"""A kill between the commit rename and the index row: the next command lists the model, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pumasfs.base.paths import Layout
from tests.importer.helpers import VAE, lora, write_safetensors

from .conftest import library_models


def test_kill_after_commit_rename_is_listed_and_not_imported_twice(root: Path, tmp_path: Path, pumas, killed_at):
    src = lora(tmp_path / "dl" / "clip-l.safetensors")
    other = write_safetensors(tmp_path / "dl" / "vae.safetensors", VAE, fill=b"\x05")
    pumas("import", other)
    killed_at("commit:after-rename", "import", src)
    models = Layout(root).models_dir
    on_disk = library_models(models)
    assert len(on_disk) == 2  # committed: the folder is whole on disk

    # The very next command, a read-only one, sees it.
    listed = sorted(m["model_id"] for m in pumas("list", "--json").json())
    assert listed == on_disk
    # Importing the same file again finds it: no `clip-l-2e0fb8ee`.
    again = pumas("import", "--json", src).json()
    assert [r["status"] for r in again] == ["duplicate"]
    assert library_models(models) == on_disk
    assert list((models / ".journal").iterdir()) == []
    assert src.read_bytes()  # the source is untouched


def test_kill_before_commit_rename_leaves_nothing(root: Path, tmp_path: Path, pumas, killed_at):
    src = lora(tmp_path / "dl" / "clip-l.safetensors")
    killed_at("commit:before-rename", "import", src)
    assert pumas("list", "--json").json() == []
    models = Layout(root).models_dir
    assert library_models(models) == []
    run = pumas("import", "--json", src).json()
    assert [r["status"] for r in run] == ["imported"]
    assert len(library_models(models)) == 1


@pytest.mark.parametrize("step", ["commit:after-index"])
def test_kill_after_index_row_is_consistent(root: Path, tmp_path: Path, pumas, killed_at, step):
    src = lora(tmp_path / "dl" / "clip-l.safetensors")
    killed_at(step, "import", src)
    listed = [m["model_id"] for m in pumas("list", "--json").json()]
    assert listed == library_models(Layout(root).models_dir) and len(listed) == 1
    assert [r["status"] for r in pumas("import", "--json", src).json()] == ["duplicate"]


def test_kill_after_identity_move_rename(root: Path, tmp_path: Path, pumas, killed_at):
    src = lora(tmp_path / "dl" / "clip-l.safetensors")
    mid = pumas("import", "--json", src).json()[0]["model_id"]
    killed_at("move:after-rename", "edit", mid, "--set", "family=sdxl")
    listed = [m["model_id"] for m in pumas("list", "--json").json()]
    models = Layout(root).models_dir
    assert listed == library_models(models)
    assert len(listed) == 1 and "/sdxl/" in listed[0]
    assert pumas("show", "--json", listed[0]).json()["model_id"] == listed[0]


def test_kill_between_metadata_and_index_row_of_an_edit(root: Path, tmp_path: Path, pumas, killed_at):
    mid = pumas("import", "--json", lora(tmp_path / "dl" / "a.safetensors")).json()[0]["model_id"]
    killed_at("update:after-metadata", "edit", mid, "--set", "notes=kept")
    # metadata.json has the edit; the next command's index (list, search) has it too.
    [row] = pumas("list", "--json").json()
    assert row["notes"] == "kept"
    assert [m["model_id"] for m in pumas("list", "--search", "kept", "--json").json()] == [mid]
    assert pumas("doctor").returncode == 0


def test_kill_after_restore_rename(root: Path, tmp_path: Path, pumas, killed_at):
    mid = pumas("import", "--json", lora(tmp_path / "dl" / "a.safetensors")).json()[0]["model_id"]
    pumas("rm", mid)
    [item] = pumas("trash", "list", "--json").json()
    killed_at("restore:after-rename", "trash", "restore", item["id"])
    assert [m["model_id"] for m in pumas("list", "--json").json()] == [mid]
    assert pumas("trash", "list", "--json").json() == []
    assert pumas("doctor").returncode == 0
