"""`pumas adopt` on a realistic machine: paths unchanged, one copy of every byte, the way back."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pumasfs.adopt.workflows import unresolved_references
from pumasfs.planning.installs import AppInstall
from tests.adopt.conftest import lora, machine_listing
from tests.conftest import assert_one_line_error


def library_files(root: Path) -> dict[str, list[str]]:
    """sha256 -> library files holding those bytes (metadata.json aside)."""
    out: dict[str, list[str]] = {}
    models = root / "shared-resources/models"
    for dirpath, dirnames, filenames in os.walk(models):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for n in filenames:
            if n in ("metadata.json", "models.db") or n.startswith("models.db"):
                continue
            p = Path(dirpath) / n
            out.setdefault(hashlib.sha256(p.read_bytes()).hexdigest(), []).append(str(p.relative_to(models)))
    return out


def unresolved(m, pumas) -> list[dict]:
    r = pumas("workflows", "comfyui", "--json", check=False)
    return r.json()["unresolved"]


def test_adopt_keeps_every_name_every_workflow_and_one_copy_of_each_byte(machine, pumas, root):
    m = machine
    before = machine_listing(m)
    wf_before = unresolved(m, pumas)
    assert [r["name"] for r in wf_before] == ["missing/never_had_it.safetensors"]
    sdxl = m.comfy / "models/loras/sdxl/characters/foo_character_v2.safetensors"
    ino = sdxl.stat().st_ino

    out = pumas("adopt", "--json").json()
    assert out["total"]["models"] == 14 and out["total"]["duplicates"] == 3
    assert out["apps"]["comfyui"]["duplicates"] == 3 and out["apps"]["a1111"]["duplicates"] == 0
    reasons = {(x["reason"], Path(x["path"]).name) for x in out["left_alone"]}
    assert reasons == {("foreign-link", "shared_lora.safetensors"), ("unsafe-pickle", "evil.pth")}
    assert out["workflows"]["comfyui"]["unresolved_before"] == out["workflows"]["comfyui"]["unresolved_after"]

    # Every app lists exactly the same names, each with the same bytes; no workflow reference broke.
    assert machine_listing(m) == before
    assert unresolved(m, pumas) == wf_before
    # Every model file is now a link; the user's own link and the unsafe pickle are untouched.
    assert sdxl.is_symlink()
    assert os.readlink(m.comfy / "models/loras/shared_lora.safetensors") == str(m.home / "elsewhere/shared_lora.safetensors")
    evil = m.comfy / "models/upscale_models/evil.pth"
    assert evil.is_file() and not evil.is_symlink()
    # No byte copied: the library file is the original inode.
    assert os.stat(sdxl).st_ino == ino
    # The library holds each sha256 once.
    files = library_files(root)
    assert all(len(v) == 1 for v in files.values()), {k: v for k, v in files.items() if len(v) > 1}

    models = {x["model_id"]: x for x in pumas("list", "--json").json()}
    assert len(models) == 11
    # The two different LoRAs named foo_character_v2 stay two models; the A1111 copy of the pony one joins it.
    pony_id = next(i for i, x in models.items() if any(p["path"] == "loras/pony/foo_character_v2.safetensors"
                                                       for p in x["pins"]))
    pins = {(p["app"], p["path"]) for p in models[pony_id]["pins"]}
    assert pins == {("comfyui", "loras/pony/foo_character_v2.safetensors"),
                    ("a1111", "models/Lora/foo_character_v2.safetensors")}
    sdxl_meta = next(x for x in models.values() if any(p["path"].startswith("loras/sdxl/") for p in x["pins"]))
    assert sdxl_meta["model_id"] != pony_id
    assert sdxl_meta["official_name"] == "Foo Character" and sdxl_meta["base_model"] == "SDXL 1.0"
    assert sdxl_meta["trigger_words"] == ["foochar", "blue hair"]
    assert [x["model_id"] for x in pumas("list", "--search", "foochar", "--json").json()] == [sdxl_meta["model_id"]]
    jugg = [x for x in models.values() if x["subtype"] == "checkpoints"]
    assert len(jugg) == 1 and {p["app"] for p in jugg[0]["pins"]} == {"comfyui", "a1111"}
    # Unidentifiable models keep their folder as their role; LM Studio keeps publisher/repo.
    assert models["unknown/unknown/sam-vit-b-01ec64"]["subtype"] == "sams"
    assert models["unknown/unknown/face-yolov8m"]["subtype"] == "ultralytics/bbox"
    lms = next(x for x in models.values() if x["model_type"] == "llm")
    assert lms["pins"][0]["path"] == "TheBloke/Mistral-7B-GGUF/mistral-7b.Q4_K_M.gguf"
    # `pumas show` lists the pins.
    assert "a1111: models/Lora/foo_character_v2.safetensors" in pumas("show", pony_id).stdout

    # Registry and views agree: a full materialize of each install finds nothing to fix at the pins.
    for app in ("comfyui", "a1111", "lmstudio"):
        rep = pumas("materialize", app, "--dry-run", "--json", check=False).json()
        rep = rep[0] if isinstance(rep, list) else rep
        assert rep["conflicts"] == [], rep["conflicts"]
    # Pins survive losing both databases and a deep scan.
    (root / "shared-resources/models/models.db").unlink()
    (root / "launcher-data/db/registry.db").unlink()
    pumas("scan")
    assert {(p["app"], p["path"]) for p in pumas("show", pony_id, "--json").json()["pins"]} == pins
    pumas("sync", "comfyui")
    after_sync = machine_listing(m)
    for app, names in before.items():  # sync may add other apps' models; it never moves or drops these
        assert {k: after_sync[app].get(k) for k in names} == names


def test_dry_run_changes_nothing_and_rerun_costs_only_what_is_new(machine, pumas, root):
    from tests.materializer.conftest import snapshot

    def apps() -> dict[str, tuple]:
        # pumas's own state (which library roots this user has opened) is not the apps' data
        return {k: v for k, v in snapshot(machine.home).items() if k != ".local" and not k.startswith(".local/state")}

    snap = apps()
    dry = pumas("adopt", "--dry-run", "--json").json()
    assert dry["dry_run"] and dry["total"]["models"] == 14
    assert apps() == snap
    assert pumas("list", "--json").json() == []
    text = pumas("adopt", "--dry-run").stdout
    assert "total: 20 file(s), 14 model(s)" in text and "unsafe-pickle" in text

    pumas("adopt")
    # ComfyUI-Manager downloads one more file (and a copy of a model the library has).
    lora(machine.comfy / "models/loras/new_download.safetensors", 99)
    lora(machine.comfy / "models/loras/again/style_ink.safetensors", 3)
    again = pumas("adopt", "comfyui", "--json").json()
    assert again["apps"]["comfyui"]["models"] == 2 and again["apps"]["comfyui"]["duplicates"] == 1
    assert again["apps"]["comfyui"]["already_managed"] == 9
    assert again["apps"]["comfyui"]["files"] == 2  # nothing already managed was read again
    assert (machine.comfy / "models/loras/again/style_ink.safetensors").is_symlink()
    files = library_files(root)
    assert all(len(v) == 1 for v in files.values())


def test_from_dir_adopts_one_folder_only(machine, pumas):
    out = pumas("adopt", "--from", machine.comfy / "models/loras/sdxl", "--as", "comfyui", "--json").json()
    assert out["total"]["models"] == 1
    assert (machine.comfy / "models/loras/sdxl/characters/foo_character_v2.safetensors").is_symlink()
    assert not (machine.comfy / "models/loras/pony/foo_character_v2.safetensors").is_symlink()
    assert_one_line_error(pumas("adopt", "--from", machine.a1111, "--as", "comfyui", check=False))
    assert_one_line_error(pumas("adopt", "--from", machine.a1111, check=False))
    assert_one_line_error(pumas("adopt", "nosuchapp", check=False))


def test_undo_restores_real_files_with_the_same_bytes(machine, pumas, root):
    m = machine
    before = machine_listing(m)
    pumas("adopt")
    out = pumas("adopt", "--undo", "comfyui", "--json").json()
    assert out["failures"] == []
    assert machine_listing(m) == before
    for dirpath, _dirs, filenames in os.walk(m.comfy / "models"):
        for n in filenames:
            p = Path(dirpath) / n
            if p.name != "shared_lora.safetensors":
                assert not p.is_symlink(), p
    # Shared with A1111: copied back, still in the library and linked there; ComfyUI-only ones left the library.
    models = {x["model_id"]: x for x in pumas("list", "--json").json()}
    assert all(p["app"] != "comfyui" for x in models.values() for p in x["pins"])
    assert "unknown/unknown/sam-vit-b-01ec64" not in models
    assert any(x["subtype"] == "checkpoints" for x in models.values())
    assert (m.a1111 / "models/Stable-diffusion/juggernaut_xl.safetensors").is_symlink()
    assert out["moved"] > 0 and out["copied"] > 0
    assert pumas("release", "a1111").returncode == 0
    assert machine_listing(m) == before
    assert not (m.a1111 / "models/Stable-diffusion/juggernaut_xl.safetensors").is_symlink()


def test_non_utf8_names_are_listed_and_left_in_place(machine, pumas):
    d = os.fsencode(machine.comfy / "models/loras")
    bad = os.path.join(d, b"caf\xe9_lora.safetensors")
    with open(bad, "wb") as f:
        f.write(lora(machine.home / "tmp.safetensors", 42).read_bytes())
    out = pumas("adopt", "comfyui", "--json").json()
    assert any(x["reason"] == "not-utf8" for x in out["left_alone"])
    assert os.path.isfile(bad) and not os.path.islink(bad)


def test_a_file_changed_after_hashing_is_left_as_it_is(tmp_path):
    from materializer.links import RELATIVE, LinkSpec
    from pumasfs.adopt.swap import Changed, stamp_of, swap_in_link

    f = tmp_path / "app/loras/x.safetensors"
    f.parent.mkdir(parents=True)
    f.write_bytes(b"old bytes")
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "x.safetensors").write_bytes(b"old bytes")
    stamp = stamp_of(str(f))
    f.write_bytes(b"new bytes, longer")
    spec = LinkSpec("loras/x.safetensors", "m", "x.safetensors", RELATIVE, target="../../lib/x.safetensors")
    try:
        swap_in_link(str(f), spec, str(lib), stamp)
    except Changed as e:
        assert "changed while it was being adopted" in e.message
    else:
        raise AssertionError("swapped a changed file")
    assert f.read_bytes() == b"new bytes, longer" and not f.is_symlink()
    assert os.listdir(f.parent) == ["x.safetensors"]


def test_workflows_command_reads_ui_and_api_formats(machine, pumas):
    r = pumas("workflows", "comfyui", "--all", "--json", check=False)
    assert r.returncode == 1
    data = r.json()
    assert data["workflows"] == 2 and data["references"] == 8
    assert {(x["folder"], x["name"]) for x in data["all"]} >= {
        ("loras", "sdxl/characters/foo_character_v2.safetensors"), ("ultralytics", "bbox/face_yolov8m.pt"),
        ("loras", "style_ink.safetensors")}
    app = AppInstall(name="comfyui", kind="comfyui", path=machine.comfy)
    assert len(unresolved_references(app)) == 1
    assert_one_line_error(pumas("workflows", "a1111", check=False))


def test_extra_model_paths_inside_the_install_are_adopted(machine, pumas):
    extra = machine.comfy / "models/my_loras"
    lora(extra / "extra_one.safetensors", 55)
    (machine.comfy / "extra_model_paths.yaml").write_text(
        f"mine:\n  base_path: {machine.comfy}\n  loras: |\n    models/my_loras\n    /nonexistent/place\n")
    wf = machine.comfy / "user/default/workflows/extra.json"
    wf.write_text(json.dumps({"nodes": [{"id": 1, "type": "LoraLoader", "widgets_values": ["extra_one.safetensors"]}]}))
    assert not any(r["name"] == "extra_one.safetensors" for r in unresolved(machine, pumas))
    pumas("adopt", "comfyui")
    assert (extra / "extra_one.safetensors").is_symlink()
    assert not any(r["name"] == "extra_one.safetensors" for r in unresolved(machine, pumas))


def test_a_new_file_at_a_pinned_place_takes_the_place_over(machine, pumas):
    pumas("adopt", "lmstudio")
    gguf = machine.lmstudio / "models/TheBloke/Mistral-7B-GGUF/mistral-7b.Q4_K_M.gguf"
    old_id = next(x["model_id"] for x in pumas("list", "--json").json())
    gguf.unlink()  # the user downloads a new version over the link
    from pumasfs.sample.samples import write_gguf

    write_gguf(gguf, "llama", {"general.name": "Mistral 7B v0.2"}, [("token_embd.weight", "F16", [32, 32])])
    data = gguf.read_bytes()
    out = pumas("adopt", "lmstudio", "--json").json()
    assert out["failures"] == [] and gguf.is_symlink() and gguf.read_bytes() == data
    models = {x["model_id"]: x for x in pumas("list", "--json").json()}
    assert models[old_id]["pins"] == []
    new = [x for x in models.values() if x["pins"]]
    assert len(new) == 1 and new[0]["pins"][0]["path"] == "TheBloke/Mistral-7B-GGUF/mistral-7b.Q4_K_M.gguf"


def test_hardlink_installs_pumas_own_links_are_not_adopted_again(machine, pumas, root):
    pumas("import", machine.a1111 / "models/Lora/a1111_only.safetensors")  # a copy into the library
    pumas("materialize", "comfyui", "--link-type", "hardlink")
    linked = machine.comfy / "models/loras/a1111_only.safetensors"
    assert linked.is_file() and not linked.is_symlink() and linked.stat().st_nlink == 2
    before = machine_listing(machine)
    out = pumas("adopt", "comfyui", "--json").json()
    assert out["apps"]["comfyui"]["already_managed"] >= 1
    assert all(p["path"] != "loras/a1111_only.safetensors" for p in out["placed"])
    assert machine_listing(machine) == before
    # Adopted files in a hardlink install become hardlinks of their library file; no temporary name stays.
    ck = machine.comfy / "models/checkpoints/juggernaut_xl.safetensors"
    assert ck.is_file() and not ck.is_symlink() and ck.stat().st_nlink == 2
    assert not list((machine.comfy / "models/checkpoints").glob(".*pumas-tmp"))
    rep = pumas("materialize", "comfyui", "--dry-run", "--json", check=False).json()
    rep = rep[0] if isinstance(rep, list) else rep
    assert rep["conflicts"] == []
