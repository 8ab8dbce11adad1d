"""The ``checked`` cache (scan and doctor skip folders that did not change) never hides a change.

Each test first lets a scan or a doctor run fill the cache, then changes the library the way a
user or a crash would, and expects the next run to see it.
"""

from __future__ import annotations

import json
import os

from pumasfs.store import health
from pumasfs.store.library import Library
from tests.support.models import add_model


def kinds(findings) -> list[str]:
    return sorted(f.kind for f in findings)


def cached(library: Library) -> set[str]:
    return set(library.index.checked())


def test_a_scan_fills_the_cache_and_a_rescan_of_nothing_changes_nothing(library: Library):
    for name in ("a", "b", "c"):
        add_model(library, name)
    first = library.scan()
    assert cached(library) == {"diffusion/sd1/a", "diffusion/sd1/b", "diffusion/sd1/c"}
    again = library.scan()
    assert again.loaded == 3 and (again.added, again.changed, again.removed, again.errors) == ([], [], [], [])
    assert first.errors == []


def test_a_hand_edit_after_a_scan_is_picked_up_by_the_next(library: Library):
    a = add_model(library, "a")
    add_model(library, "b")
    library.scan()
    path = library.layout.models_dir / a.model_id / "metadata.json"
    raw = json.loads(path.read_text())
    raw["notes"] = "edited by hand"
    path.write_text(json.dumps(raw))  # in place: same inode, a new mtime/ctime
    report = library.scan()
    assert report.changed == [a.model_id]
    assert library.index.get(a.model_id).meta.notes == "edited by hand"


def test_a_folder_removed_after_a_scan_leaves_the_index_and_the_cache(library: Library):
    a = add_model(library, "a")
    add_model(library, "b")
    library.scan()
    os.rename(library.layout.models_dir / a.model_id, library.layout.root / "elsewhere")
    assert library.scan().removed == [a.model_id]
    assert cached(library) == {"diffusion/sd1/b"}


def test_doctor_still_sees_broken_metadata_and_changed_weights_after_a_clean_run(library: Library):
    a = add_model(library, "a")
    b = add_model(library, "b")
    add_model(library, "c")
    assert list(health.check_index(library, False)) == []
    assert len(cached(library)) == 3
    (library.layout.models_dir / a.model_id / "metadata.json").write_text('{"model_id": 3}')
    weights = library.layout.models_dir / b.model_id / "b.safetensors"
    os.chmod(weights, 0o644)
    with open(weights, "r+b") as f:  # truncated through an app's link: metadata.json untouched
        f.truncate(3)
    found = list(health.check_index(library, False))
    assert kinds(found) == ["broken-metadata", "changed-file", "ghost-index-row"]  # (as before the cache)


def test_doctor_sees_a_writable_or_missing_weight_of_a_cached_folder(library: Library):
    a = add_model(library, "a")
    b = add_model(library, "b")
    assert list(health.check_index(library, False)) == []
    os.chmod(library.layout.models_dir / a.model_id / "a.safetensors", 0o644)
    (library.layout.models_dir / b.model_id / "b.safetensors").unlink()
    found = list(health.check_index(library, True))
    assert kinds(found) == ["missing-file", "writable-file"]
    assert [f.fixed for f in found if f.kind == "writable-file"] == [True]
    assert not os.stat(library.layout.models_dir / a.model_id / "a.safetensors").st_mode & 0o222


def test_a_moved_folder_is_an_id_mismatch_even_after_a_scan_cached_it(library: Library):
    a = add_model(library, "a")
    library.scan()
    target = library.layout.models_dir / "diffusion/sdxl/a"
    target.parent.mkdir(parents=True)
    os.rename(library.layout.models_dir / a.model_id, target)
    library.scan()  # indexes it under its new place, but must not vouch for its stale recorded id
    assert "diffusion/sdxl/a" not in cached(library)
    assert "id-mismatch" in kinds(health.check_index(library, False))


def test_a_row_changed_behind_the_cache_is_compared_again(library: Library):
    a = add_model(library, "a")
    assert list(health.check_index(library, False)) == []
    with library.index.transaction() as conn:  # the index drifted (a bug, an older pumas)
        conn.execute("UPDATE models SET metadata = json_set(metadata, '$.notes', 'drift') WHERE model_id = ?",
                     (a.model_id,))
    assert kinds(health.check_index(library, False)) == ["stale-index-row"]
