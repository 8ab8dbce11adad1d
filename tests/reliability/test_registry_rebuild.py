"""A garbage registry.db is set aside and rebuilt from the links that are exactly what a plan writes."""

from __future__ import annotations

import os
from pathlib import Path

from pumasfs.base.paths import Layout
from tests.importer.helpers import VAE, lora, write_safetensors
from tests.materializer.conftest import make_comfyui, snapshot


def our_links(app_models: Path) -> set[str]:
    return {p.relative_to(app_models).as_posix() for p in app_models.rglob("*") if p.is_symlink()}


def test_garbage_registry_is_set_aside_and_rebuilt(root: Path, tmp_path: Path, pumas):
    srcs = [lora(tmp_path / "dl" / "detail.safetensors", 1), lora(tmp_path / "dl" / "style.safetensors", 2),
            write_safetensors(tmp_path / "dl" / "vae.safetensors", VAE)]
    ids = [r["model_id"] for r in pumas("import", "--json", *srcs).json()]
    linked = make_comfyui(tmp_path / "ComfyUI")
    viewed = make_comfyui(tmp_path / "ComfyUI-view")  # registered, never materialized: must get no links
    pumas("app", "add", "comfyui", linked, "--name", "main")
    pumas("app", "add", "comfyui", viewed, "--name", "viewonly")
    pumas("materialize", "main")
    models = Layout(root).models_dir
    # The user's own link into the library, under a name no plan writes: never ours.
    mine = linked / "models" / "loras" / "my-favourite.safetensors"
    lib_file = next((models / ids[0]).glob("*.safetensors"))
    mine.symlink_to(lib_file)
    ours = our_links(linked / "models") - {"loras/my-favourite.safetensors"}
    assert ours and our_links(viewed / "models") == set()

    reg = Layout(root).registry_db
    for suffix in ("-wal", "-shm"):
        Path(str(reg) + suffix).unlink(missing_ok=True)
    reg.write_bytes(b"this is not a database\n" * 100)

    # Every command that touches the registry works; none exits 70.
    for cmd in (["show", ids[0]], ["doctor"], ["sync"], ["materialize", "main"]):
        r = pumas(*cmd, check=False)
        assert r.returncode in (0, 1), (cmd, r.returncode, r.stderr)
        assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert list(reg.parent.glob("registry.db.corrupt-*"))  # set aside, not deleted
    assert our_links(viewed / "models") == set()
    assert our_links(linked / "models") == ours | {"loras/my-favourite.safetensors"}
    links = pumas("show", "--json", ids[0]).json()["links"]
    assert links and all(l["app"] == "main" for l in links)
    kinds = [f["kind"] for f in pumas("doctor", "--json", check=False).json()]
    assert kinds == ["orphaned-link"]  # the user's link: reported, not owned

    # Ownership is back: rm removes our links; app remove removes the rest of ours, only ours.
    pumas("rm", ids[1])
    assert not any("style" in p for p in our_links(linked / "models"))
    before_user = snapshot(viewed / "models")
    pumas("app", "remove", "main")
    assert our_links(linked / "models") == {"loras/my-favourite.safetensors"}
    assert os.readlink(mine) == str(lib_file)
    assert snapshot(viewed / "models") == before_user
