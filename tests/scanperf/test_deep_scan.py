"""The deep scan's fast paths (issue 16) give the index the slow paths gave, and keep its change-log promises.

A rebuild of an empty index writes in bulk under a new epoch; the walk tells model folders by a
``stat`` instead of listing them; metadata.json is read with plain system calls and its lists are
deduplicated by one validator.  Each test builds a real library (real folders, files, symlinks,
SQLite) and compares against what the general paths produce.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from pumasfs.base.paths import Layout
from pumasfs.store.index import Index, row_sum
from pumasfs.store.library import Library, folder_stamp
from pumasfs.store.metadata import METADATA_FILE, OVERRIDES_FILE, Pin, load_metadata
from tests.support.models import add_model

REPO = Path(__file__).resolve().parents[2]


def populate(library: Library) -> list[str]:
    """Models of several shapes, written through the library's own (logged, one-by-one) writes."""
    ids = [add_model(library, name, family=fam, tags=["x", name]).model_id
           for name, fam in (("alpha", "sd1"), ("beta", "sdxl"), ("Gamma Ray", "flux"))]
    ids.append(add_model(library, "diffusers", family="sdxl", folder=True).model_id)
    pinned = add_model(library, "pinned", family="sdxl", model_type="lora", subtype="loras",
                       trigger_words=["zap", "zap", "zop"])
    pinned.pins = [Pin(app="comfy", path="loras/chars/pinned.safetensors"),
                   Pin(app="comfy", path="loras/other.safetensors", files={"loras/x.txt": "pinned.safetensors"})]
    library.save(pinned)
    ids.append(pinned.model_id)
    over = add_model(library, "constrained", family="sd1")
    ov_dir = library.layout.models_dir / over.model_id
    (ov_dir / OVERRIDES_FILE).write_text(json.dumps({"version_ranges": {"comfyui": ">=0.5"}}))
    library.index_if_unlisted(over.model_id)  # not unlisted: the row stays as it was
    ids.append(over.model_id)
    return sorted(ids)


def snapshot(index: Index) -> dict[str, list[tuple[object, ...]]]:
    """Every table a rebuild fills, by model id (row ids are the index's own business)."""
    q = index.conn.execute
    return {
        "models": q("SELECT model_id, model_type, subtype, family, cleaned_name, size_bytes, added_date, metadata,"
                    " overrides, overrides_error FROM models ORDER BY model_id").fetchall(),
        "files": q("SELECT * FROM files ORDER BY model_id, name").fetchall(),
        "pins": q("SELECT * FROM pins ORDER BY model_id, app, path").fetchall(),
        "fts": q("SELECT m.model_id, f.body FROM models m JOIN models_fts f ON f.rowid = m.id"
                 " ORDER BY m.model_id").fetchall(),
        "facets": q("SELECT m.model_id, x.base_model, x.match_method, x.hub_badge, x.civitai_version, x.civitai_trust"
                    " FROM models m JOIN facets x ON x.id = m.id ORDER BY 1").fetchall(),
        "tags": q("SELECT m.model_id, t.tag FROM tags t JOIN models m ON m.id = t.id ORDER BY 1, 2").fetchall(),
        "indexes": q("SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
                     " ORDER BY name").fetchall(),
    }


def delete_index(layout: Layout) -> None:
    for suffix in ("", "-wal", "-shm"):
        p = layout.index_db.with_name(layout.index_db.name + suffix)
        if p.exists():
            p.unlink()


def test_a_rebuild_gives_the_rows_the_one_by_one_writes_gave(library: Library, root: Path):
    ids = populate(library)
    library.scan()  # the overrides.json written by hand reaches its row through a logged upsert
    before = snapshot(library.index)
    assert [r[0] for r in before["models"]] == ids and before["pins"] and len(before["indexes"]) == 8
    assert len(before["facets"]) == len(ids) and before["tags"]
    library.close()
    delete_index(library.layout)

    rebuilt = Library(Layout(root))
    report = rebuilt.scan()
    assert sorted(report.added) == ids and report.errors == [] and report.loaded == len(ids)
    assert snapshot(rebuilt.index) == before
    assert [r["model_id"] for r in rebuilt.index.rows(search="zop")] == ["lora/sdxl/pinned"]
    assert rebuilt.index.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert rebuilt.index.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # The rebuild fills the `checked` cache, as the next scan will find each folder (a stat only).
    checked, stored = rebuilt.index.checked(), rebuilt.index.stored_rows()
    assert set(checked) == set(ids)
    for mid in ids:
        d = rebuilt.layout.models_dir / mid
        assert checked[mid][:2] == (folder_stamp(str(d), (d / OVERRIDES_FILE).exists()), row_sum(stored[mid]))
    rebuilt.close()


def test_a_rebuild_is_a_new_epoch_and_every_write_after_it_is_logged(library: Library, root: Path, tmp_path: Path):
    # Another library's model folders, copied in by hand under an index that lists nothing.
    other = Library(Layout(tmp_path / "other"))
    ids = populate(other)
    other.close()
    reader = Index(library.layout.index_db)  # a consumer (a mounted view) that read the empty index
    epoch, seq = reader.epoch, reader.latest_seq()
    shutil.copytree(other.layout.models_dir / "diffusion", library.layout.models_dir / "diffusion")
    shutil.copytree(other.layout.models_dir / "lora", library.layout.models_dir / "lora")

    report = library.scan()
    assert sorted(report.added) == ids
    # No change-log row per model: the consumer sees another epoch, and reads the index whole.
    assert reader.epoch != epoch and reader.changes_since(seq) == []
    assert reader.count() == len(ids)
    # Foreign keys are checked again once the rebuild is over, and writes are logged again.
    assert library.index.conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    library.edit(ids[0], {"notes": "after"})
    assert [(c.model_id, c.op) for c in reader.changes_since(reader.latest_seq() - 1)] == [(ids[0], "upsert")]
    reader.close()


def test_a_scan_of_an_index_with_rows_logs_each_change_under_the_same_epoch(library: Library, tmp_path: Path):
    add_model(library, "kept")
    other = Library(Layout(tmp_path / "other"))
    new = add_model(other, "arrived", family="sdxl")
    other.close()
    epoch, seq = library.index.epoch, library.index.latest_seq()
    shutil.copytree(other.layout.models_dir / new.model_id, library.layout.models_dir / new.model_id)
    assert library.scan().added == [new.model_id]
    assert library.index.epoch == epoch
    assert [(c.model_id, c.op) for c in library.index.changes_since(seq)] == [(new.model_id, "upsert")]


def test_the_stamped_walk_finds_what_the_listing_walk_finds(library: Library):
    models = library.layout.models_dir
    plain = add_model(library, "plain")
    add_model(library, "diffusers", folder=True)  # subfolders: never descended into
    ov = add_model(library, "with-overrides", family="sdxl")
    (models / ov.model_id / OVERRIDES_FILE).write_text("{}")
    dangling_ov = add_model(library, "dangling-overrides", family="sdxl")
    (models / dangling_ov.model_id / OVERRIDES_FILE).symlink_to("/nonexistent/overrides.json")
    # metadata.json a dangling link: no stat can see it, the listing does (and the read says why).
    broken = models / "diffusion" / "sd1" / "broken"
    broken.mkdir()
    (broken / METADATA_FILE).symlink_to("/nonexistent/metadata.json")
    # A model folder inside a Diffusers model is part of it; hidden folders and links are not walked.
    nested = models / "diffusion" / "sd1" / "diffusers" / "unet" / "inner"
    nested.mkdir(parents=True)
    shutil.copy(models / plain.model_id / METADATA_FILE, nested / METADATA_FILE)
    hidden = models / ".staging-like" / "m"
    hidden.mkdir(parents=True)
    shutil.copy(models / plain.model_id / METADATA_FILE, hidden / METADATA_FILE)
    (models / "diffusion" / "linked").symlink_to(models / plain.model_id, target_is_directory=True)
    (models / "diffusion" / "sd1" / "a-file.txt").write_text("not a folder")

    listed = [(d, OVERRIDES_FILE in names, folder_stamp(d, OVERRIDES_FILE in names))
              for d, names in library.walk_model_folders()]
    assert list(library.stamped_model_folders()) == listed
    by_dir = {Path(d).name: (has, stamp) for d, has, stamp in listed}
    assert by_dir["with-overrides"][0] and by_dir["with-overrides"][1] is not None
    assert by_dir["dangling-overrides"] == (True, None) and by_dir["broken"] == (False, None)
    assert by_dir["plain"] == (False, folder_stamp(str(models / plain.model_id), False))
    assert len(listed) == 5
    report = library.scan()
    assert len(report.errors) == 1 and "broken" in report.errors[0] and "no metadata.json" in report.errors[0]


def test_metadata_lists_keep_their_order_without_repeats_when_read_and_when_set(library: Library):
    meta = add_model(library, "tagged", tags=["b", "a", "b"])
    d = library.layout.models_dir / meta.model_id
    raw = json.loads((d / METADATA_FILE).read_text())
    assert raw["tags"] == ["b", "a"]
    raw.update(tags=["z", "y", "z", "y"], trigger_words=["t", "t"], compatible_apps=["c", "d", "c"])
    (d / METADATA_FILE).write_text(json.dumps(raw))
    loaded = load_metadata(d)
    assert (loaded.tags, loaded.trigger_words, loaded.compatible_apps) == (["z", "y"], ["t"], ["c", "d"])
    loaded.tags = ["q", "r", "q"]
    assert loaded.tags == ["q", "r"] and loaded.trigger_words == ["t"]
    (d / METADATA_FILE).write_bytes(b"x" * 200_000)  # bigger than one read: still read whole
    report = library.scan()
    assert len(report.errors) == 1 and "not valid JSON" in report.errors[0]


def test_a_rebuild_killed_before_its_commit_leaves_the_empty_index_and_the_next_open_builds_it(
        library: Library, root: Path):
    ids = populate(library)
    library.close()
    delete_index(library.layout)
    code = "import sys; from pumasfs.store.library import Library; Library.open(sys.argv[1]).scan()"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PUMAS_TEST_KILL_AT": "scan:before-commit"}
    killed = subprocess.run([sys.executable, "-c", code, str(root)], env=env, capture_output=True)
    assert killed.returncode == -9, killed.stderr
    conn = sqlite3.connect(library.layout.index_db)  # the old (empty, schema-made) index: whole
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT COUNT(*) FROM models").fetchone() == (0,)
    conn.close()
    # Any next command sees the models: opening the index finds it never filled and rescans.
    again = Library(Layout(root))
    assert again.index.count() == len(ids)
    assert again.scan().added == []
    again.close()
    conn = sqlite3.connect(library.layout.index_db)
    assert conn.execute("SELECT COUNT(*) FROM meta WHERE key='unfilled'").fetchone() == (0,)
    conn.close()


def test_a_new_empty_library_is_filled_at_once_so_its_first_imports_need_no_rescan(tmp_path: Path):
    layout = Layout(tmp_path / "lib").ensure()
    lib = Library(layout)
    assert lib.index.count() == 0
    add_model(lib, "first-import")  # written through the index, as an import does
    lib.close()
    conn = sqlite3.connect(layout.index_db)
    assert conn.execute("SELECT COUNT(*) FROM meta WHERE key='unfilled'").fetchone() == (0,)
    conn.close()
    again = Index(layout.index_db)
    assert not again.reset and again.count() == 1
    again.close()
