"""Doctor's library checks read models.db once (``health.check_models``) and still see every change.

The index and identity checks share one read of the rows, the row sums and each weight file's
``lstat``; these tests change the library after a clean run (filling the ``checked`` cache) the way a
user, a tool or a damaged disk would, and expect the next run to say so.
"""

from __future__ import annotations

import os
import sqlite3

from pumasfs.sample.samples import write_sample_library
from pumasfs.store import health
from pumasfs.store.library import Library
from tests.library.test_library import add_model


def kinds(findings: list[health.Finding]) -> list[str]:
    return sorted(f.kind for f in findings)


def test_a_weight_file_swapped_after_a_clean_run_is_identified_again(pumas, root, tmp_path):
    samples = {p.name: p for p in write_sample_library(tmp_path / "dl")}
    pumas("import", samples["sdxl_detail_tweaker.safetensors"], "--no-lookup")
    pumas("import", samples["sdxl_vae.safetensors"], "--no-lookup")
    assert pumas("doctor", "--json").json() == []
    assert pumas("doctor", "--json").json() == []  # the cache holds both verdicts now
    # A tool writes other bytes in the library's place (atomically: a new inode), read-only as ours.
    weights = root / "shared-resources/models/diffusion/sdxl/sdxl-detail-tweaker/sdxl_detail_tweaker.safetensors"
    tmp = weights.with_name("swap.tmp")
    tmp.write_bytes(samples["v1-5-pruned-emaonly.safetensors"].read_bytes())
    tmp.chmod(0o444)
    os.replace(tmp, weights)
    found = pumas("doctor", "--json", check=False).json()
    assert {f["kind"] for f in found} >= {"misidentified", "changed-file"}
    assert [f for f in found if f["kind"] == "misidentified"][0]["path"] == "diffusion/sdxl/sdxl-detail-tweaker"


def test_check_models_finds_what_the_two_checks_find_one_after_the_other(library: Library):
    a = add_model(library, "a")
    add_model(library, "b")
    assert health.check_models(library, False) == []
    weights = library.layout.models_dir / a.model_id / a.files[0].name
    weights.chmod(0o644)
    with open(weights, "ab") as f:
        f.write(b"more")
    both = health.check_models(library, False)
    assert kinds(both) == kinds(list(health.check_index(library, False)) + list(health.check_identity(library, False)))
    assert kinds(both) == ["changed-file"]


def test_a_row_that_is_not_json_is_a_stale_row_not_a_crash(library: Library):
    """SQLite extracts the checks' fields from the rows; one damaged row must not stop it."""
    a = add_model(library, "a")
    add_model(library, "b")
    assert health.check_models(library, False) == []
    db = sqlite3.connect(library.layout.index_db)
    with db:
        db.execute("UPDATE models SET metadata='{not json' WHERE model_id=?", (a.model_id,))
    db.close()
    found = health.check_models(library, False)
    assert kinds(found) == ["stale-index-row"] and found[0].path == a.model_id
    fixed = health.check_models(library, True)
    assert [f.fixed for f in fixed] == [True]
    assert health.check_models(library, False) == []
