"""`pumas doctor` lists each app folder once (a scandir walk, links not followed) and checks the
registry against that listing; what the listing cannot see is checked path by path as before."""

from __future__ import annotations

import os
from pathlib import Path

from materializer import api
from pumasfs.store.library import Library
from tests.materializer.conftest import add_model


def kinds(findings) -> list[str]:
    return sorted(f.kind for f in findings)


def test_links_under_a_folder_the_user_turned_into_a_link_are_checked_through_it(library: Library, app, comfy: Path):
    """The walk does not enter a linked folder; the registered links in it are not 'vanished'."""
    a = add_model(library, "Alpha")
    add_model(library, "Beta")
    api.materialize(library.layout, library, app)
    models = comfy / "models"
    # The user moves checkpoints/ aside (same depth: our relative links still resolve) and links it back.
    os.rename(models / "checkpoints", models / ".moved-checkpoints")
    os.symlink(".moved-checkpoints", models / "checkpoints")
    found = api.doctor(library.layout, library)
    # The links in the moved folder are reached by two paths: ours (through the folder link: healthy)
    # and the real one, which the registry does not know (a link into the library: orphaned, left alone).
    assert kinds(found) == ["orphaned-link", "orphaned-link"]
    assert {Path(f.path).parent.name for f in found} == {".moved-checkpoints"}
    # Through the folder link, a library file that vanished is still seen as a broken link of ours.
    (library.layout.models_dir / a.model_id / "Alpha.safetensors").unlink()
    broken = [f for f in api.doctor(library.layout, library) if f.kind == "broken-link"]
    assert [Path(f.path).relative_to(models).as_posix() for f in broken] == ["checkpoints/Alpha.safetensors"]


def test_a_folder_where_our_link_was_and_a_link_to_a_model_folder(library: Library, app, comfy: Path):
    """A folder in our link's place is a changed link; a user's link to a whole model folder in the
    library is an orphaned link (a link to a folder, which ``os.walk`` would have listed as a folder)."""
    a = add_model(library, "Alpha")
    b = add_model(library, "Beta")
    api.materialize(library.layout, library, app)
    ckpt = comfy / "models/checkpoints"
    (ckpt / "Alpha.safetensors").unlink()
    (ckpt / "Alpha.safetensors").mkdir()
    (ckpt / "Alpha.safetensors" / "theirs.txt").write_text("theirs")
    (ckpt / "beta-folder").symlink_to(library.layout.models_dir / b.model_id, target_is_directory=True)
    found = api.doctor(library.layout, library)
    assert kinds(found) == ["changed-link", "orphaned-link"]
    by_kind = {f.kind: Path(f.path) for f in found}
    assert by_kind["changed-link"] == ckpt / "Alpha.safetensors" and by_kind["orphaned-link"] == ckpt / "beta-folder"
    api.doctor(library.layout, library, fix=True)
    assert (ckpt / "Alpha.safetensors" / "theirs.txt").read_text() == "theirs"  # theirs: untouched
    assert (ckpt / "beta-folder").is_symlink()
    assert a.model_id  # (Alpha's library copy is still there: only our link was replaced)
    assert (library.layout.models_dir / a.model_id / "Alpha.safetensors").is_file()
