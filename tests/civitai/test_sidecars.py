"""Previews and .civitai.info beside the model in the library and beside its link in every app."""

from __future__ import annotations

import glob
import json
import mimetypes
import os
from pathlib import Path

from pumasfs.sample.demo import make_comfyui_tree

from .conftest import lora_on_civitai, png_bytes
from .fakecivitai import FakeImage


def comfyui_previews(filepath: str) -> list[str]:
    """ComfyUI's own preview naming (app/model_manager.py get_model_previews, as of Oct 2025):
    glob ``<basename>.*`` beside the model, keep files whose mimetype is an image and whose
    name without extension is ``<basename>`` or ``<basename>.preview``."""
    basename = os.path.splitext(filepath)[0]
    out = []
    for name in glob.glob(f"{glob.escape(basename)}.*"):
        ext = name.split(".")[-1]
        kind = "image" if ext == "webp" else ((mimetypes.guess_type(name, strict=False)[0] or "").split("/")[0])
        if kind != "image":
            continue
        if os.path.splitext(name)[0] in (basename, f"{basename}.preview"):
            out.append(name)
    return out


def test_sidecars_are_linked_into_every_app_and_comfyui_finds_the_preview(civ, civ_env, pumas, tmp_path, root) -> None:
    _model, v, f = lora_on_civitai(civ, "inapps")
    comfy = make_comfyui_tree(tmp_path / "ComfyUI")
    comfy2 = make_comfyui_tree(tmp_path / "ComfyUI-2")
    webui = tmp_path / "webui"
    (webui / "models" / "Lora").mkdir(parents=True)
    (webui / "models" / "Stable-diffusion").mkdir(parents=True)
    for kind, path, name in (("comfyui", comfy, "comfy"), ("comfyui", comfy2, "comfy2"), ("a1111", webui, "webui")):
        pumas("app", "add", kind, path, "--name", name)
        pumas("materialize", name)
    src = tmp_path / "dl" / "inapps_v1.safetensors"
    src.parent.mkdir()
    src.write_bytes(f.data)

    pumas("import", src, env_extra=civ_env)  # syncs every app afterwards

    rec = pumas("list", "--json", env_extra=civ_env).json()[0]
    mdir = root / "shared-resources" / "models" / rec["model_id"]
    stem = rec["primary_file"].rsplit(".", 1)[0]
    preview = mdir / f"{stem}.preview.png"
    info = mdir / f"{stem}.civitai.info"
    assert preview.read_bytes() == png_bytes("inapps-safe")  # the X-rated first image was skipped
    assert json.loads(info.read_text())["id"] == v.id and json.loads(info.read_text())["files"][0]["hashes"]["SHA256"]
    for app_root, folder in ((comfy, "models/loras"), (comfy2, "models/loras"), (webui, "models/Lora")):
        links = [p for p in (app_root / folder).rglob("*.safetensors")]
        assert len(links) == 1, (app_root, list((app_root / folder).rglob("*")))
        link = links[0]
        link_stem = str(link)[: -len(".safetensors")]
        assert Path(link_stem + ".preview.png").read_bytes() == preview.read_bytes()
        assert json.loads(Path(link_stem + ".civitai.info").read_text())["id"] == v.id
    comfy_link = next((comfy / "models" / "loras").rglob("*.safetensors"))
    found = comfyui_previews(str(comfy_link))
    assert found == [str(comfy_link)[: -len(".safetensors")] + ".preview.png"]
    assert os.path.isfile(found[0])  # ComfyUI checks the preview is a file (through the link)


def test_previews_and_info_that_came_with_the_model_are_kept(civ, civ_env, pumas, tmp_path, root) -> None:
    _model, v, f = lora_on_civitai(civ, "ownprev")
    d = tmp_path / "dl"
    d.mkdir()
    (d / "ownprev.safetensors").write_bytes(f.data)
    (d / "ownprev.preview.png").write_bytes(png_bytes("mine"))
    (d / "ownprev.civitai.info").write_text('{"id": 1, "mine": true}')

    pumas("import", d / "ownprev.safetensors", env_extra=civ_env)

    rec = pumas("list", "--json", env_extra=civ_env).json()[0]
    assert rec["civitai"]["version_id"] == v.id  # matched all the same
    mdir = root / "shared-resources" / "models" / rec["model_id"]
    previews = sorted(p.name for p in mdir.glob("*.png"))
    assert len(previews) == 1 and (mdir / previews[0]).read_bytes() == png_bytes("mine")
    infos = list(mdir.glob("*.civitai.info"))
    assert len(infos) == 1 and json.loads(infos[0].read_text()) == {"id": 1, "mine": True}
    assert civ.requests(r"^GET /images/") == []  # no preview fetched for a model that has one


def test_preview_follows_the_nsfw_setting(civ, civ_env, pumas, tmp_path, root) -> None:
    images = [FakeImage(png_bytes("r-rated"), nsfw_level=4, ext="png"), FakeImage(png_bytes("x-rated"), nsfw_level=8, ext="png")]
    _model, v, f = lora_on_civitai(civ, "spicy", images=images)
    _model2, v2, f2 = lora_on_civitai(civ, "spicy2", images=list(images))
    d = tmp_path / "dl"
    d.mkdir()
    (d / "spicy.safetensors").write_bytes(f.data)
    (d / "spicy2.safetensors").write_bytes(f2.data)

    pumas("import", d / "spicy.safetensors", env_extra=civ_env)  # default: safe only -> no preview at all
    rec = pumas("list", "--json", env_extra=civ_env).json()[0]
    assert rec["civitai"]["version_id"] == v.id
    assert [x for x in rec["files"] if x["role"] == "preview"] == []
    assert civ.requests(r"^GET /images/") == []

    assert pumas("config", "get", "civitai.preview_nsfw", env_extra=civ_env).stdout.strip() == "safe"
    pumas("config", "set", "civitai.preview_nsfw", "mature", env_extra=civ_env)
    pumas("import", d / "spicy2.safetensors", env_extra=civ_env)
    rec2 = next(r for r in pumas("list", "--json", env_extra=civ_env).json() if r["civitai"]["version_id"] == v2.id)
    [prev] = [x for x in rec2["files"] if x["role"] == "preview"]
    mdir = root / "shared-resources" / "models" / rec2["model_id"]
    assert (mdir / prev["name"]).read_bytes() == png_bytes("r-rated")  # R is within "mature"; X is not


def test_same_names_with_other_bytes_each_keep_their_own_preview(civ, civ_env, pumas, tmp_path, root) -> None:
    """Two different LoRAs both called detail.safetensors: ComfyUI sees two stems, each with its own preview."""
    comfy = make_comfyui_tree(tmp_path / "ComfyUI")
    pumas("app", "add", "comfyui", comfy)
    pumas("materialize", "comfyui")
    sources = []
    for who in ("alice", "bob"):
        _, v, f = lora_on_civitai(civ, f"same-{who}", images=[FakeImage(png_bytes(f"face-{who}"), ext="png")])
        src = tmp_path / who / "detail.safetensors"
        src.parent.mkdir()
        src.write_bytes(f.data)
        sources.append((src, v))

    pumas("import", *(s for s, _ in sources), env_extra=civ_env)

    links = sorted((comfy / "models" / "loras").rglob("*.safetensors"))
    assert len(links) == 2 and links[0].name != links[1].name
    seen = set()
    for link in links:
        [preview] = comfyui_previews(str(link))
        info = json.loads(Path(str(link)[: -len(".safetensors")] + ".civitai.info").read_text())
        # the preview beside each link is the one of the version whose bytes the link points at
        want = png_bytes("face-alice") if info["id"] == sources[0][1].id else png_bytes("face-bob")
        assert Path(preview).read_bytes() == want
        assert info["files"][0]["hashes"]["SHA256"].lower() == __import__("hashlib").sha256(link.read_bytes()).hexdigest()
        seen.add(info["id"])
    assert seen == {v.id for _, v in sources}


def test_use_cases_run_without_the_cli(civ, civ_env, root, library, tmp_path) -> None:
    """The CivitAI use cases are plain functions on a Workspace (what a web UI will call)."""
    from pumasfs.usecases import civitai as uc
    from pumasfs.usecases.workspace import Workspace

    from .conftest import add_model, lora_bytes

    _, v, _f = lora_on_civitai(civ, "uc")
    meta = add_model(library, "uc.safetensors", lora_bytes("uc-pruned"), model_type="diffusion", family="sdxl",
                     subtype="loras")
    ws = Workspace(root)
    try:
        assert [c.value for c in uc.get_config(ws)] == ["not set", "safe", "true"]
        uc.set_config(ws, "civitai.preview_nsfw", "soft")
        assert uc.get_config(ws, "civitai.preview_nsfw")[0].value == "soft"
        out = uc.link_model(ws, meta.model_id, f"civitai:{v.id}").outcome
        assert out.status == "matched" and out.version_id == v.id
        assert ws.library.get(meta.model_id).civitai.trust == "user"
        report = uc.outdated(ws)
        assert report.items == [] and report.checked == 1
    finally:
        ws.close()
