"""One recovery mechanism: adoption's batch commit writes the library's intent journal.

A batch killed after renaming its models into place but before indexing
them leaves one ``commit-batch`` intent in ``models/.journal/``; whoever
opens the library next (a plain `pumas list`, not only `pumas adopt`)
indexes every model it names, and no adoption journal of its own exists.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

from pumasfs.store.journal import Intent
from tests.adopt.conftest import machine_listing

JOURNAL = Path("shared-resources/models/.journal")


def _intents(root: Path) -> list[Intent]:
    d = root / JOURNAL
    return [Intent.model_validate_json(p.read_bytes()) for p in sorted(d.glob("*.intent"))] if d.is_dir() else []


def _metadata_ids(root: Path) -> set[str]:
    models = root / "shared-resources/models"
    return {str(p.parent.relative_to(models)) for p in models.rglob("metadata.json")
            if not any(part.startswith(".") for part in p.relative_to(models).parts)}


def test_a_batch_killed_before_its_index_is_finished_by_the_next_reader(machine, pumas, root):
    before = machine_listing(machine)
    r = pumas("adopt", "comfyui", check=False, env_extra={"PUMAS_TEST_KILL_AT": "renamed"})
    assert r.returncode == -signal.SIGKILL, r.stderr
    [intent] = _intents(root)
    assert intent.op == "commit-batch"
    on_disk = _metadata_ids(root)
    assert set(intent.model_ids) == on_disk and len(on_disk) >= 8
    assert not (root / "run/adopt-journal.json").exists()
    # A reading command finishes it: every model renamed in is listed, the intent is gone.
    listed = {m["model_id"] for m in pumas("list", "--json").json()}
    assert listed == on_disk
    assert _intents(root) == []
    # The originals were never touched; the next adoption swaps them without a second copy.
    assert machine_listing(machine, during=True) == before
    out = pumas("adopt", "comfyui", "--json").json()
    assert out["failures"] == []
    assert _metadata_ids(root) == on_disk  # no model adopted twice
    assert machine_listing(machine) == before


def test_a_batch_intent_of_a_live_adoption_is_not_taken_for_dead(root, library):
    """An intent whose writer holds its lock is left alone by another process's recovery."""
    from pumasfs.store import journal

    models = root / "shared-resources/models"
    held = journal.begin(models, Intent.batch(["lora/sdxl/x"]))
    try:
        assert journal.orphans(models) == []
        assert json.loads(held.path.read_bytes())["model_ids"] == ["lora/sdxl/x"]
    finally:
        held.done()
    assert not held.path.exists()


def test_one_broken_model_of_a_killed_batch_does_not_hide_the_others(machine, pumas, root):
    r = pumas("adopt", "comfyui", check=False, env_extra={"PUMAS_TEST_KILL_AT": "renamed"})
    assert r.returncode == -signal.SIGKILL, r.stderr
    [intent] = _intents(root)
    broken = sorted(intent.model_ids)[0]
    (root / "shared-resources/models" / broken / "metadata.json").write_text("{not json")
    listed = {m["model_id"] for m in pumas("list", "--json").json()}
    assert listed == set(intent.model_ids) - {broken}
    assert _intents(root) == []
