"""`pumas import` end to end, against real files, real mounts and the real CLI."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from pumasfs.base.errors import EXIT_PARTIAL, PumasError
from pumasfs.importing.importer import ImportOptions, import_paths
from pumasfs.store import staging
from pumasfs.store.library import Library
from pumasfs.store.metadata import load_metadata
from tests.conftest import assert_one_line_error

from .helpers import (
    LORA,
    VAE,
    lora,
    model_dirs,
    pickle_file,
    tmpfs,
    tree,
    write_safetensors,
)


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _snapshot(p: Path) -> tuple:
    st = os.stat(p)
    return (p.read_bytes(), st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode)


def _imp(library: Library, *paths, **opts):
    return import_paths(library, list(paths), ImportOptions(**opts))


def _assert_no_leftovers(library: Library) -> None:
    staging_dir = library.layout.staging_dir
    assert not staging_dir.exists() or not [p for p in staging_dir.iterdir()], list(staging_dir.iterdir())


# -- copy ------------------------------------------------------------------------


def test_copy_import_writes_a_complete_model_and_leaves_the_source_alone(library: Library, tmp_path: Path):
    src = lora(tmp_path / "src" / "detail-tweaker_v1.safetensors")
    (tmp_path / "src" / "detail-tweaker_v1.preview.png").write_bytes(b"\x89PNG fake")
    (tmp_path / "src" / "detail-tweaker_v1.yaml").write_text("model: {}\n")
    before = {p.name: _snapshot(p) for p in (tmp_path / "src").iterdir()}

    [r] = _imp(library, src)
    assert r.status == "imported", r.message
    meta = library.get(r.model_id)
    d = library.model_dir(r.model_id)
    assert sorted(os.listdir(d)) == sorted(
        ["metadata.json", "detail-tweaker_v1.safetensors", "detail-tweaker_v1.preview.png", "detail-tweaker_v1.yaml"])
    assert meta.hashes.sha256 == _sha(src) == meta.files[0].sha256
    assert meta.primary_file == "detail-tweaker_v1.safetensors" and meta.layout == "file"
    assert meta.preview_image == "detail-tweaker_v1.preview.png"
    assert meta.official_name == "detail-tweaker_v1" and meta.cleaned_name == "detail-tweaker-v1"
    assert meta.original_name == "detail-tweaker_v1.safetensors"
    assert meta.size_bytes == sum(f.size for f in meta.files) == sum(os.path.getsize(d / f.name) for f in meta.files)
    assert meta.approx_weight_size_gb == meta.size_bytes / 1024**3
    assert meta.pending_online_lookup is True
    assert {f.name: f.role for f in meta.files}["detail-tweaker_v1.yaml"] == "config"
    for f in meta.files:
        assert f.sha256 == _sha(d / f.name) and f.blake3
    assert library.index.find_sha256(meta.hashes.sha256) == [(r.model_id, "detail-tweaker_v1.safetensors")]
    # Copy mode: the source tree is byte-for-byte and stat-for-stat what it was.
    assert {p.name: _snapshot(p) for p in (tmp_path / "src").iterdir()} == before
    _assert_no_leftovers(library)


def test_identification_fills_type_and_cli_options_win(library: Library, tmp_path: Path):
    src = lora(tmp_path / "x.safetensors")
    [auto] = _imp(library, src, dry_run=True)
    # An SD LoRA's keys say "diffusion, loras"; they cannot tell SD1 from SDXL, so the family stays unknown.
    assert (auto.meta.model_type, auto.meta.family, auto.meta.subtype) == ("diffusion", "unknown", "loras")
    assert auto.model_id == "diffusion/unknown/x"

    [r] = _imp(library, src, name="My LoRA (v2)", model_type="Diffusion", family="sdxl", subtype="loras")
    meta = library.get(r.model_id)
    assert r.model_id == "diffusion/sdxl/my-lora-v2"
    assert (meta.model_type, meta.family, meta.subtype, meta.official_name) == ("diffusion", "sdxl", "loras", "My LoRA (v2)")
    assert set(meta.user_edited) >= {"model_type", "family", "subtype", "official_name"}
    # Enrichment later must not undo what the user said.
    assert library.enrich(r.model_id, {"family": "sd1", "notes": "x"}) == ["notes"]


def test_dry_run_imports_nothing(library: Library, tmp_path: Path, pumas):
    src = lora(tmp_path / "x.safetensors")
    run = pumas("import", "--dry-run", "--json", src)
    [r] = run.json()
    assert r["status"] == "dry-run" and r["identification"]["path"]
    assert model_dirs(library.layout.models_dir) == []
    assert pumas("list", "--json").json() == []
    human = pumas("import", "--dry-run", src).stdout
    assert "dry-run" in human and "x.safetensors" in human


# -- duplicates --------------------------------------------------------------------


def test_duplicate_bytes_are_not_copied_twice(library: Library, tmp_path: Path, pumas):
    a = lora(tmp_path / "a.safetensors", 1)
    b = tmp_path / "renamed-copy.safetensors"
    b.write_bytes(a.read_bytes())
    [first] = _imp(library, a)
    run = pumas("import", "--json", b)
    [dup] = run.json()
    assert dup["status"] == "duplicate" and dup["model_id"] == first.model_id
    assert first.model_id in dup["message"]
    assert len(model_dirs(library.layout.models_dir)) == 1
    _assert_no_leftovers(library)

    [again] = _imp(library, b, allow_duplicate=True)
    assert again.status == "imported" and again.model_id != first.model_id
    assert len(model_dirs(library.layout.models_dir)) == 2


def test_same_file_named_twice_in_one_run_is_imported_once(library: Library, tmp_path: Path):
    a = lora(tmp_path / "a.safetensors", 1)
    c = tmp_path / "c.safetensors"
    c.write_bytes(a.read_bytes())
    results = _imp(library, a, c, a)
    assert sorted(r.status for r in results) == ["duplicate", "imported"]


def test_different_models_with_the_same_name_get_distinct_stable_folders(library: Library, tmp_path: Path):
    a = lora(tmp_path / "one" / "model.safetensors", 1)
    b = lora(tmp_path / "two" / "model.safetensors", 2)
    [ra] = _imp(library, a, name="Same")
    [rb] = _imp(library, b, name="Same")
    assert ra.model_id != rb.model_id
    assert rb.model_id.startswith(ra.model_id + "-")


# -- folders and sets ----------------------------------------------------------------


def test_diffusers_folder_keeps_its_subfolders(library: Library, tmp_path: Path):
    d = tmp_path / "sdxl-base-1.0"
    (d / "unet").mkdir(parents=True)
    (d / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionXLPipeline"}))
    (d / "unet" / "config.json").write_text("{}")
    write_safetensors(d / "unet" / "diffusion_pytorch_model.safetensors", LORA, fill=b"u")
    write_safetensors(d / "vae" / "diffusion_pytorch_model.safetensors", VAE, fill=b"v")
    [r] = _imp(library, d)
    assert r.status == "imported", r.message
    meta = library.get(r.model_id)
    assert meta.layout == "folder" and meta.primary_file == "unet/diffusion_pytorch_model.safetensors"
    assert tree(library.model_dir(r.model_id)) == sorted(
        ["metadata.json", "model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
         "vae/diffusion_pytorch_model.safetensors"])
    assert meta.cleaned_name.startswith("sdxl-base-1.0")


def test_sharded_set_is_one_model_and_an_incomplete_one_is_refused(library: Library, tmp_path: Path, pumas):
    d = tmp_path / "llm"
    d.mkdir()
    names = [f"model-{i:05d}-of-00003.safetensors" for i in (1, 2, 3)]
    for i, n in enumerate(names):
        lora(d / n, 10 + i)
    (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {f"t{i}": n for i, n in enumerate(names)}}))
    [r] = _imp(library, *[d / n for n in names])
    assert r.status == "imported", r.message
    meta = library.get(r.model_id)
    assert meta.layout == "folder" and meta.primary_file == names[0] and len(meta.files) == 4
    assert meta.cleaned_name == "llm"  # "model" says nothing; the folder names it

    (d / names[1]).unlink()
    run = pumas("import", d / names[0], check=False)
    assert_one_line_error(run)
    assert run.returncode == 1 and names[1] in run.stderr


def test_folder_of_unrelated_models_imports_each_and_says_so(library: Library, tmp_path: Path, pumas):
    dl = tmp_path / "Downloads"
    lora(dl / "a.safetensors", 1)
    lora(dl / "b.safetensors", 2)
    (dl / "b.preview.png").write_bytes(b"png")
    (dl / "readme.pdf").write_bytes(b"pdf")
    run = pumas("import", dl)
    assert "importing the 2 models in it separately" in run.stderr
    assert len([l for l in run.stdout.splitlines() if l.startswith("imported")]) == 2
    assert len(model_dirs(library.layout.models_dir)) == 2


# -- refusals and partial failures ----------------------------------------------------


def test_truncated_and_garbage_safetensors_are_refused(library: Library, tmp_path: Path, pumas):
    good = lora(tmp_path / "good.safetensors", 1)
    trunc = tmp_path / "truncated.safetensors"
    trunc.write_bytes(good.read_bytes()[:-100])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(os.urandom(5000))
    tiny = tmp_path / "tiny.safetensors"
    tiny.write_bytes(b"abc")
    for bad in (trunc, garbage, tiny):
        run = pumas("import", bad, check=False)
        assert_one_line_error(run)
        assert run.returncode == 1 and bad.name in run.stderr
    run = pumas("import", "--json", good, trunc, tmp_path / "notes.zip", check=False)
    assert run.returncode == EXIT_PARTIAL
    by = {Path(r["source"]).name: r for r in run.json()}
    assert by["good.safetensors"]["status"] == "imported"
    assert by["truncated.safetensors"]["status"] == "failed"
    assert by["notes.zip"]["status"] == "failed"
    assert [d.name for d in model_dirs(library.layout.models_dir)] == ["good"]
    _assert_no_leftovers(library)


def test_unsupported_file_type_is_a_clear_error(tmp_path: Path, pumas):
    f = tmp_path / "model.zip"
    f.write_bytes(b"PK")
    run = pumas("import", f, check=False)
    assert_one_line_error(run)
    assert "unsupported file type '.zip'" in run.stderr


def test_pickle_with_code_references_is_refused_without_allow_unsafe(library: Library, tmp_path: Path):
    evil = pickle_file(tmp_path / "evil.pt", [("os", "system")])
    plain = pickle_file(tmp_path / "plain.pt", [("torch._utils", "_rebuild_tensor_v2"), ("collections", "OrderedDict")])
    [r] = _imp(library, evil)
    assert r.identification is not None and "os.system" in r.identification.unsafe_globals
    assert r.status == "failed" and "--allow-unsafe" in r.message and "os.system" in r.message
    assert model_dirs(library.layout.models_dir) == []
    [ok] = _imp(library, evil, allow_unsafe=True)
    assert ok.status == "imported" and library.get(ok.model_id).unsafe_format
    [p] = _imp(library, plain)
    assert p.status == "imported", p.message
    assert library.get(p.model_id).unsafe_format is True


def test_name_option_with_several_models_is_refused(library: Library, tmp_path: Path):
    a, b = lora(tmp_path / "a.safetensors", 1), lora(tmp_path / "b.safetensors", 2)
    with pytest.raises(PumasError, match="--name"):
        _imp(library, a, b, name="x")


# -- hostile names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename",
    [
        "CON.safetensors", "aux.safetensors", "lpt9.safetensors",
        "ctrl\x01chars\x1f\x7f.safetensors", 'a<b>c:"d|e?f*.safetensors', "back\\slash.safetensors",
        "trailing. .safetensors", "ü" * 121 + ".safetensors",  # 242 + 12 = 254 bytes
        "x" * 243 + ".safetensors",  # the longest name with room for companions
    ],
)
def test_hostile_file_names_become_safe_and_are_recorded(library: Library, tmp_path: Path, filename: str):
    d = tmp_path / "in"
    src = lora(d / filename)
    stem = filename[: -len(".safetensors")]
    (d / (stem + ".yaml")).write_text("x")
    [r] = _imp(library, src)
    assert r.status == "imported", r.message
    meta = library.get(r.model_id)
    folder = library.model_dir(r.model_id)
    forbidden = set('<>:"/\\|?*') | {chr(c) for c in range(32)} | {"\x7f"}
    for f in meta.files:
        assert (folder / f.name).is_file()
        assert not set(f.name) & forbidden and len(f.name.encode()) <= 255
        assert f.name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "LPT9"}
        assert not f.name.endswith((" ", "."))
    assert meta.original_name == filename
    weights, yaml = meta.files[0].name, meta.files[1].name
    assert weights.endswith(".safetensors") and yaml == weights[: -len(".safetensors")] + ".yaml"
    assert "/" not in r.model_id.split("/", 2)[2]


def test_dotdot_paths_and_names_stay_inside_the_library(library: Library, tmp_path: Path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    src = lora(tmp_path / "a" / "x.safetensors")
    [r] = _imp(library, tmp_path / "a" / "b" / ".." / "x.safetensors", name="../../../etc/passwd" + "y" * 300)
    assert r.status == "imported", r.message
    folder = library.model_dir(r.model_id)
    assert library.layout.models_dir.resolve() in folder.parents
    assert len(folder.name.encode()) <= 255 and ".." not in r.model_id.split("/")
    assert src.exists()


def test_hostile_names_inside_a_folder_model(library: Library, tmp_path: Path):
    d = tmp_path / "pipe"
    (d / "unet ").mkdir(parents=True)  # trailing space: not allowed on NTFS
    (d / "model_index.json").write_text("{}")
    write_safetensors(d / "unet " / "diffusion_pytorch_model.safetensors", LORA)
    (d / "unet " / "a:b.json").write_text("{}")
    (d / "metadata.json").write_text('{"theirs": true}')  # must not be overwritten by ours
    [r] = _imp(library, d)
    assert r.status == "imported", r.message
    meta = library.get(r.model_id)
    names = {f.original_name: f.name for f in meta.files}
    assert names["unet /a:b.json"] == "unet/a_b.json"
    assert names["metadata.json"] != "metadata.json"
    folder = library.model_dir(r.model_id)
    assert json.loads((folder / names["metadata.json"]).read_text()) == {"theirs": True}
    assert load_metadata(folder).model_id == r.model_id


# -- move -----------------------------------------------------------------------------


def test_move_on_one_filesystem_renames_without_copying(library: Library, tmp_path: Path):
    src = lora(tmp_path / "m.safetensors")
    (tmp_path / "m.yaml").write_text("x")
    ino, sha = src.stat().st_ino, _sha(src)
    [r] = _imp(library, src, move=True)
    assert r.status == "imported", r.message
    assert not src.exists() and not (tmp_path / "m.yaml").exists()
    moved = library.model_dir(r.model_id) / "m.safetensors"
    assert moved.stat().st_ino == ino and moved.stat().st_nlink == 1  # the same bytes, not a copy
    assert library.get(r.model_id).hashes.sha256 == sha


def test_move_of_a_folder_model_removes_the_emptied_folder(library: Library, tmp_path: Path):
    d = tmp_path / "adapter"
    d.mkdir()
    (d / "adapter_config.json").write_text("{}")
    lora(d / "adapter_model.safetensors")
    [r] = _imp(library, d, move=True)
    assert r.status == "imported", r.message
    assert not d.exists()


def test_move_across_filesystems_copies_verifies_then_deletes(library: Library, tmp_path: Path):
    with tmpfs(tmp_path / "usb", "16m") as usb:
        src = write_safetensors(usb / "big.safetensors", LORA, fill=os.urandom(4096), total_size=3 * 1024 * 1024 + 5)
        with open(src, "r+b") as f:  # make the tail non-sparse and varied
            f.seek(2 * 1024 * 1024)
            f.write(os.urandom(1024 * 1024))
        sha = _sha(src)
        assert os.stat(usb).st_dev != os.stat(library.layout.models_dir).st_dev
        [r] = _imp(library, src, move=True)
        assert r.status == "imported", r.message
        assert not src.exists()
        assert _sha(library.model_dir(r.model_id) / "big.safetensors") == sha


def test_move_of_a_duplicate_keeps_the_source(library: Library, tmp_path: Path):
    a = lora(tmp_path / "a.safetensors", 3)
    _imp(library, a)
    b = tmp_path / "b.safetensors"
    b.write_bytes(a.read_bytes())
    [r] = _imp(library, b, move=True)
    assert r.status == "duplicate" and b.exists()
    _assert_no_leftovers(library)


def test_move_refuses_symlinks(library: Library, tmp_path: Path):
    real = lora(tmp_path / "real.safetensors")
    link = tmp_path / "link.safetensors"
    link.symlink_to(real)
    [r] = _imp(library, link, move=True)
    assert r.status == "failed" and "symbolic link" in r.message
    assert real.exists() and link.is_symlink()


# -- crashes and full disks ---------------------------------------------------------------


def test_full_disk_gives_a_clean_error_and_no_partial_model(tmp_path: Path, pumas_at):
    src = write_safetensors(tmp_path / "huge.safetensors", LORA, total_size=12 * 1024 * 1024)
    before = _snapshot(src)
    with tmpfs(tmp_path / "tiny-lib", "4m") as lib_root:
        run = pumas_at(lib_root, "import", src, check=False)
        assert_one_line_error(run)
        assert "no space left" in run.stderr and "huge.safetensors" in run.stderr
        assert pumas_at(lib_root, "list", "--json").json() == []
        lib = Library.open(lib_root)
        try:
            assert lib.scan().loaded == 0
            assert staging.stale_entries(lib.layout) == []
            assert model_dirs(lib.layout.models_dir) == []
        finally:
            lib.close()
    assert _snapshot(src) == before


def test_stale_staging_is_swept_by_the_next_import(library: Library, tmp_path: Path):
    stale = library.layout.staging_dir / "import-99999-deadbeef"
    (stale / "model").mkdir(parents=True)
    (stale / "model" / "half.safetensors").write_bytes(b"x" * 100)
    (library.layout.staging_dir / ".leftover.1.abcd.pumas-tmp").write_bytes(b"x")
    [r] = _imp(library, lora(tmp_path / "a.safetensors"))
    assert r.status == "imported"
    _assert_no_leftovers(library)


# -- round trip -------------------------------------------------------------------------


def test_deep_scan_round_trip_after_imports(library: Library, tmp_path: Path, pumas):
    lora(tmp_path / "in" / "one.safetensors", 1)
    lora(tmp_path / "in" / "two.safetensors", 2)
    (tmp_path / "in" / "two.preview.png").write_bytes(b"png")
    d = tmp_path / "in" / "pipe"
    d.mkdir()
    (d / "model_index.json").write_text("{}")
    write_safetensors(d / "unet" / "diffusion_pytorch_model.safetensors", LORA, fill=b"z")
    pumas("import", tmp_path / "in")
    before = pumas("list", "--json").json()
    assert len(before) == 3
    library.close()
    for suffix in ("", "-wal", "-shm"):
        p = library.layout.index_db.with_name("models.db" + suffix)
        if p.exists():
            p.unlink()
    lib = Library(library.layout)
    try:
        report = lib.scan()
        assert report.loaded == 3 and not report.errors
    finally:
        lib.close()
    assert pumas("list", "--json").json() == before


class _Sink:
    def __init__(self) -> None:
        self.total = None
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n

    def update(self, **kw) -> None:
        self.total = kw.get("total", self.total)


def test_many_models_on_ssd_run_concurrently_and_still_dedupe(tmp_path: Path):
    with tmpfs(tmp_path / "fast", "64m") as fast:
        lib = Library.open(fast / "root")
        try:
            srcs = [lora(fast / "in" / f"m{i}.safetensors", i) for i in range(6)]
            twin = fast / "in" / "twin.safetensors"
            twin.write_bytes(srcs[0].read_bytes())
            sink = _Sink()
            results = import_paths(lib, [*srcs, twin], ImportOptions(), progress=sink)
            assert sorted(r.status for r in results) == ["duplicate"] + ["imported"] * 6
            assert sink.total == sink.done == sum(p.stat().st_size for p in [*srcs, twin])
            assert len(lib.index.model_ids()) == 6
        finally:
            lib.close()


def test_a_duplicate_is_recognised_before_copying(tmp_path: Path):
    # The library has room for one copy only: a copy-then-compare would fail with ENOSPC.
    with tmpfs(tmp_path / "lib", "7m") as lib_root:
        lib = Library.open(lib_root)
        try:
            a = write_safetensors(tmp_path / "a.safetensors", LORA, total_size=4 * 1024 * 1024)
            with open(a, "r+b") as f:
                f.seek(2 * 1024 * 1024)
                f.write(os.urandom(4096))
            [first] = _imp(lib, a)
            assert first.status == "imported", first.message
            twin = tmp_path / "twin.safetensors"
            twin.write_bytes(a.read_bytes())
            [dup] = _imp(lib, twin)
            assert dup.status == "duplicate" and dup.model_id == first.model_id
            [dry] = _imp(lib, twin, dry_run=True)
            assert "probably already in the library" in dry.message

            # Same size, same first and last MiB, different middle: not a duplicate after all.
            near = tmp_path / "near.safetensors"
            data = bytearray(a.read_bytes())
            data[2 * 1024 * 1024] ^= 0xFF
            near.write_bytes(bytes(data))
            [r] = _imp(lib, near)
            assert "no space left" in r.message  # it really tried to copy (and the tiny disk is full)
            assert lib.index.model_ids() == [first.model_id]
            _assert_no_leftovers(lib)
        finally:
            lib.close()


def test_files_inside_the_library_are_refused(pumas, root, tmp_path):
    """Re-importing (worse: --move) a library file would take it away from its model."""
    from pumasfs.sample.samples import write_sample_library

    src = [p for p in write_sample_library(tmp_path / "dl") if p.name == "sdxl_vae.safetensors"][0]
    pumas("import", src, "--no-lookup")
    (model,) = pumas("list", "--json").json()
    inside = root / "shared-resources/models" / model["model_id"] / model["primary_file"]
    before = inside.read_bytes()
    r = pumas("import", "--move", "--allow-duplicate", inside, check=False)
    assert r.returncode == 1 and "already inside the library" in r.stderr and "Traceback" not in r.stderr
    assert inside.read_bytes() == before
    assert [m["model_id"] for m in pumas("list", "--json").json()] == [model["model_id"]]


def test_a_file_name_that_is_not_utf8_imports(pumas, tmp_path):
    from pumasfs.sample.samples import write_sample_library

    src = [p for p in write_sample_library(tmp_path / "dl") if p.name == "sdxl_vae.safetensors"][0]
    odd = os.fsdecode(bytes(tmp_path) + b"/we\xffird.safetensors")
    os.link(src, odd)
    assert "dry-run" in pumas("import", "--dry-run", odd).stdout
    pumas("import", odd, "--no-lookup")
    (m,) = pumas("list", "--json").json()
    assert m["original_name"] == "we\ufffdird.safetensors"
    assert m["files"][0]["name"].encode("utf-8")
