"""`pumas doctor` on the library side, and refusing roots on missing drives."""

from __future__ import annotations

import json
import os

from pumasfs.store import health
from pumasfs.store.library import Library
from tests.conftest import assert_one_line_error
from tests.library.test_library import add_model


def kinds(findings):
    return sorted(f.kind for f in findings)


def test_index_drift_found_and_fixed(library: Library):
    a = add_model(library, "a")
    b = add_model(library, "b")
    # A model folder the index has not seen (a crash between rename and index write)...
    c_dir = library.layout.models_dir / "diffusion/sd1/c"
    c_dir.mkdir()
    meta = library.get(a.model_id).model_copy(update={"model_id": "diffusion/sd1/c", "cleaned_name": "c"})
    (c_dir / "metadata.json").write_text(meta.model_dump_json())
    (c_dir / "a.safetensors").write_bytes(b"x" * meta.files[0].size)  # the size c's record says
    # ...a folder deleted behind our back, and a metadata.json edited by hand.
    os.rename(library.layout.models_dir / b.model_id, library.layout.staging_dir / "import-1-x")
    raw = json.loads((library.layout.models_dir / a.model_id / "metadata.json").read_text())
    raw["notes"] = "edited by hand"
    (library.layout.models_dir / a.model_id / "metadata.json").write_text(json.dumps(raw))

    found = list(health.check_staging(library, False)) + list(health.check_index(library, False))
    # (c's weights were written by hand, so they are writable: library files are read-only.)
    assert kinds(found) == ["ghost-index-row", "not-indexed", "stale-index-row", "stale-staging", "writable-file"]
    assert all(f.fixable and not f.fixed for f in found)

    fixed = list(health.check_staging(library, True)) + list(health.check_index(library, True))
    assert all(f.fixed for f in fixed)
    assert list(health.check_staging(library, False)) == [] and list(health.check_index(library, False)) == []
    assert library.index.model_ids() == ["diffusion/sd1/a", "diffusion/sd1/c"]
    assert library.index.get("diffusion/sd1/a").meta.notes == "edited by hand"


def test_moved_folder_id_mismatch_is_rewritten(library: Library):
    a = add_model(library, "a")
    target = library.layout.models_dir / "diffusion/sdxl/a"
    target.parent.mkdir(parents=True)
    os.rename(library.layout.models_dir / a.model_id, target)
    found = list(health.check_index(library, True))
    assert "id-mismatch" in kinds(found)
    assert library.get("diffusion/sdxl/a").model_id == "diffusion/sdxl/a"
    assert json.loads((target / "metadata.json").read_text())["model_id"] == "diffusion/sdxl/a"


def test_broken_metadata_reported_not_fixable(library: Library):
    a = add_model(library, "a")
    (library.layout.models_dir / a.model_id / "metadata.json").write_text('{"model_id": 3}')
    found = [f for f in health.check_index(library, True) if f.kind == "broken-metadata"]
    assert len(found) == 1 and not found[0].fixable and "metadata.json" in found[0].path


def test_invalid_overrides_reported(library: Library, pumas):
    a = add_model(library, "a")
    (library.layout.models_dir / a.model_id / "overrides.json").write_text('{"version_ranges": {"comfyui": "banana"}}')
    assert "invalid-overrides" in kinds(health.check_index(library, False))
    library.scan()
    shown = pumas("show", "a", "--json").json()
    assert shown["excluded_from_mappings"] is True and "banana" in shown["overrides_error"]


def test_root_on_missing_drive_is_refused(pumas, tmp_path):
    r = pumas("--root", str(tmp_path / "unmounted" / "drive" / "lib"), "list", check=False)
    # the fixture's own --root comes first; click takes the last one
    assert_one_line_error(r)
    assert "mounted" in r.stderr
    assert not (tmp_path / "unmounted").exists()


def test_a_corrupt_index_is_set_aside_and_rebuilt(library: Library, pumas):
    add_model(library, "a")
    library.close()
    db = library.layout.index_db
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    listed = pumas("list", "--json").json()
    assert [m["model_id"] for m in listed] == ["diffusion/sd1/a"]
    assert list(db.parent.glob("models.db.corrupt-*"))


def test_a_model_whose_weights_are_gone_is_reported(library: Library):
    a = add_model(library, "a")
    (library.layout.models_dir / a.model_id / "a.safetensors").unlink()
    found = [f for f in health.check_index(library, True) if f.kind == "missing-file"]
    assert len(found) == 1 and "a.safetensors" in found[0].detail and not found[0].fixed


def test_half_written_metadata_is_swept(library: Library):
    from pumasfs.base.atomic import temp_name

    a = add_model(library, "a")
    d = library.layout.models_dir / a.model_id
    leftover = temp_name(d / "metadata.json")
    leftover.write_text("{half")
    found = [f for f in health.check_index(library, True) if f.kind == "stale-temp"]
    assert [f.fixed for f in found] == [True] and not leftover.exists()
    assert (d / "metadata.json").is_file()
