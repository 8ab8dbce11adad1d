"""The library core: metadata.json as truth, the index as a rebuildable cache, edits, removal."""

from __future__ import annotations

import json
import os

import pytest

from pumasfs.base.errors import NotFound, PumasError
from pumasfs.store.library import Library
from pumasfs.store.metadata import load_metadata
from pumasfs.store.staging import StagingDir, stale_entries, sweep
from tests.conftest import assert_one_line_error
from tests.support.models import add_model

__all__ = ["add_model"]  # tests/library/test_health.py imports it from here


def test_commit_makes_folder_and_index_row(library: Library):
    meta = add_model(library, "Dream")
    assert meta.model_id == "diffusion/sd1/dream"
    d = library.layout.models_dir / meta.model_id
    assert (d / "metadata.json").is_file() and (d / "Dream.safetensors").is_file()
    assert library.index.get(meta.model_id).meta == meta
    assert [c.op for c in library.index.changes_since(0)] == ["upsert"]
    assert not any(library.layout.staging_dir.iterdir())


def test_same_folder_name_gets_distinct_stable_names(library: Library):
    a = add_model(library, "dup", data=b"a" * 10)
    b = add_model(library, "dup", data=b"b" * 10)
    assert a.model_id != b.model_id
    assert b.model_id.startswith("diffusion/sd1/dup-")


def test_deep_scan_round_trip(library: Library, pumas, root):
    for i in range(5):
        add_model(library, f"m{i}", family=["sd1", "sdxl"][i % 2], tags=[f"t{i}"])
    before = pumas("list", "--json").stdout
    library.close()
    os.remove(library.layout.index_db)
    for suffix in ("-wal", "-shm"):
        p = library.layout.index_db.with_name("models.db" + suffix)
        if p.exists():
            p.unlink()
    assert pumas("scan").returncode == 0
    assert pumas("list", "--json").stdout == before
    assert len(json.loads(before)) == 5


def test_index_rebuilt_silently_when_deleted(library: Library, root):
    add_model(library, "keep")
    library.close()
    os.remove(library.layout.index_db)
    lib2 = Library(library.layout)
    assert lib2.index.model_ids() == ["diffusion/sd1/keep"]
    lib2.close()


def test_broken_metadata_is_reported_and_skipped(library: Library, pumas):
    add_model(library, "good")
    bad = add_model(library, "bad")
    (library.layout.models_dir / bad.model_id / "metadata.json").write_text("{not json")
    r = pumas("scan", check=False)
    assert r.returncode == 5
    assert "bad/metadata.json" in r.stderr and "Traceback" not in r.stderr
    ids = [m["model_id"] for m in pumas("list", "--json").json()]
    assert ids == ["diffusion/sd1/good"]


def test_unknown_keys_survive_rewrite(library: Library):
    meta = add_model(library, "extra")
    d = library.layout.models_dir / meta.model_id
    raw = json.loads((d / "metadata.json").read_text())
    raw["future_field"] = {"kept": True}
    (d / "metadata.json").write_text(json.dumps(raw))
    library.edit(meta.model_id, {"notes": "hello"})
    again = json.loads((d / "metadata.json").read_text())
    assert again["future_field"] == {"kept": True} and again["notes"] == "hello"


def test_user_edits_survive_enrichment(library: Library):
    meta = add_model(library, "edited")
    library.edit(meta.model_id, {"official_name": "Mine", "tags": ["a"]})
    changed = library.enrich(meta.model_id, {"official_name": "Hub Name", "tags": ["hub"], "base_model": "sd1"})
    assert changed == ["base_model"]
    now = library.get(meta.model_id)
    assert now.official_name == "Mine" and now.tags == ["a"] and now.base_model == "sd1"
    assert set(now.user_edited) == {"official_name", "tags"}


def test_identity_edit_moves_folder_and_logs(library: Library):
    meta = add_model(library, "mover", family="unknown")
    new = library.edit(meta.model_id, {"family": "sdxl"})
    assert new.model_id == "diffusion/sdxl/mover"
    assert not (library.layout.models_dir / "diffusion/unknown").exists()
    assert load_metadata(library.layout.models_dir / new.model_id).model_id == new.model_id
    ops = [(c.model_id, c.op) for c in library.index.changes_since(1)]
    assert ops == [("diffusion/unknown/mover", "remove"), ("diffusion/sdxl/mover", "upsert")]


def test_edit_refuses_unknown_field(library: Library):
    meta = add_model(library, "x")
    with pytest.raises(PumasError, match="cannot be edited"):
        library.edit(meta.model_id, {"hashes": "nope"})


def test_remove_deletes_folder_and_logs(library: Library):
    meta = add_model(library, "gone")
    library.remove(meta.model_id)
    assert not (library.layout.models_dir / "diffusion").exists()
    assert library.index.get(meta.model_id) is None
    with pytest.raises(NotFound):
        library.get(meta.model_id)
    assert not stale_entries(library.layout)


def test_model_ids_cannot_escape_library(library: Library):
    for ref in ("../../etc", ".downloads/x", "diffusion/../../.."):
        with pytest.raises(NotFound):
            library.get(ref)


def test_stale_staging_swept_only_when_unlocked(library: Library):
    held = StagingDir(library.layout)
    (held.content / "partial.tmp").write_bytes(b"abc")
    leftover = library.layout.staging_dir / "import-999-dead"
    (leftover / "model").mkdir(parents=True)
    assert stale_entries(library.layout) == [leftover]
    assert sweep(library.layout) == [leftover]
    assert held.path.exists()
    held.close()
    assert not held.path.exists()


def test_search_and_filters(library: Library, pumas):
    add_model(library, "Juggernaut", family="sdxl", tags=["photoreal"])
    add_model(library, "Anything", family="sd1", subtype="loras", tags=["anime"])
    ids = lambda *a: [m["model_id"] for m in pumas("list", "--json", *a).json()]
    assert ids("--search", "jugger") == ["diffusion/sdxl/juggernaut"]
    assert ids("--search", "anime") == ["diffusion/sd1/anything"]
    assert ids("--subtype", "loras") == ["diffusion/sd1/anything"]
    assert ids("--family", "sdxl", "--search", "anime") == []
    assert ids("--search", 'weird"quote') == []


def test_cli_errors_are_one_line(library: Library, pumas):
    assert_one_line_error(pumas("show", "nope", check=False))
    assert_one_line_error(pumas("edit", "nope", "--set", "notes=x", check=False))
    add_model(library, "e")
    assert_one_line_error(pumas("edit", "e", "--set", "noequals", check=False))
    assert_one_line_error(pumas("edit", "e", "--set", "model_card=[1]", check=False))
