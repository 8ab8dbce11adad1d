"""Fixtures for the materializer: a real ComfyUI folder tree, models in a real library, real mounts."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from materializer.registry import close_shared
from pumasfs.demo import COMFYUI_FOLDERS
from pumasfs.library import Library
from pumasfs.metadata import FileEntry, Hashes, ModelMetadata
from pumasfs.staging import StagingDir

# Every folder a fresh ComfyUI checkout ships under models/, each with its placeholder file.
COMFY_FOLDERS = list(COMFYUI_FOLDERS)


def make_comfyui(root: Path, version: str = "0.3.64") -> Path:
    """A ComfyUI install as a checkout leaves it: every model folder with its put_*_here file."""
    (root / "models").mkdir(parents=True)
    (root / "comfyui_version.py").write_text(f'__version__ = "{version}"\n')
    (root / "main.py").write_text("# ComfyUI\n")
    for f in COMFY_FOLDERS:
        d = root / "models" / f
        d.mkdir()
        (d / f"put_{f}_here").write_bytes(b"")
    (root / "models" / "configs" / "v1-inference.yaml").write_text("model:\n  target: ldm\n")
    return root


def snapshot(tree: Path) -> dict[str, tuple]:
    """Every entry under ``tree``: (kind, bytes or link target or inode) — to prove nothing else changed."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(tree).as_posix()
            st = p.lstat()
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir",)
            else:
                out[rel] = ("file", p.read_bytes(), st.st_ino)
    return out


def add_model(lib: Library, name: str, *, family: str = "sd1", model_type: str = "diffusion",
              subtype: str | None = "checkpoints", data: bytes | None = None, added: str | None = None,
              folder: bool = False, file_name: str | None = None) -> ModelMetadata:
    """A model committed the way the importer does it (staged, then renamed into place)."""
    data = data if data is not None else name.encode() * 8
    with StagingDir(lib.layout) as stage:
        sha = hashlib.sha256(data).hexdigest()
        if folder:
            for rel in ("model_index.json", "unet/diffusion_pytorch_model.safetensors", "vae/config.json"):
                p = stage.content / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data + rel.encode())
            files = [FileEntry(name=r, original_name=r, size=1) for r in
                     ("model_index.json", "unet/diffusion_pytorch_model.safetensors", "vae/config.json")]
            primary, layout = None, "folder"
        else:
            fname = file_name or f"{name}.safetensors"
            (stage.content / fname).write_bytes(data)
            files = [FileEntry(name=fname, original_name=fname, size=len(data), sha256=sha)]
            primary, layout = fname, "file"
        meta = ModelMetadata(
            model_id="", family=family, model_type=model_type, subtype=subtype, official_name=name,
            cleaned_name=name.lower(), hashes=Hashes(sha256=sha), size_bytes=len(data), files=files,
            primary_file=primary, layout=layout, **({"added_date": added} if added else {}),
        )
        return lib.commit_staged(stage, meta)


@pytest.fixture
def comfy(tmp_path: Path) -> Path:
    return make_comfyui(tmp_path / "ComfyUI")


@pytest.fixture
def app(library: Library, comfy: Path):
    return register(library, comfy)


def register(library: Library, comfy: Path, name: str | None = None, **kw):
    """What `pumas app add comfyui PATH` does: record the install and write its default map."""
    from pumasfs.apps import add_app
    from pumasfs.maps import ensure_default_map

    app = add_app(library.layout, "comfyui", comfy, name=name, **kw)
    ensure_default_map(library.layout, app)
    return app


@pytest.fixture
def tmpfs(tmp_path: Path):
    """A real tmpfs mount (another filesystem than the test's tmp dir); always unmounted."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {p.stderr.strip()}")
    try:
        yield mnt
    finally:
        close_shared()
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def ntfs(tmp_path: Path):
    """A real NTFS volume: an image file formatted by mkfs.ntfs, mounted with ntfs-3g; always unmounted."""
    img, mnt = tmp_path / "ntfs.img", tmp_path / "ntfs"
    mnt.mkdir()
    with open(img, "wb") as f:
        f.truncate(64 * 1024 * 1024)
    mk = subprocess.run(["mkfs.ntfs", "-F", "-Q", str(img)], capture_output=True, text=True, check=False)
    if mk.returncode != 0:
        pytest.skip(f"mkfs.ntfs failed: {mk.stderr.strip()}")
    p = subprocess.run(["ntfs-3g", str(img), str(mnt)], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        pytest.skip(f"cannot mount NTFS with ntfs-3g: {p.stderr.strip()}")
    try:
        yield mnt
    finally:
        close_shared()
        subprocess.run(["umount", str(mnt)], check=False)
        subprocess.run(["umount", "-l", str(mnt)], check=False, capture_output=True)


def add_rule(library: Library, app, folder: str, subtypes: list[str]) -> None:
    """A per-install map: the default ComfyUI map plus a rule sending ``subtypes`` to ``folder``."""
    from pumasfs.apps import discover_model_folders
    from pumasfs.maps import Match, Rule, default_comfyui_map, map_json

    tmap = default_comfyui_map(discover_model_folders(app))
    tmap.rules.append(Rule(name=folder.replace("/", "-"), priority=60, target=folder,
                           match=Match(subtype=subtypes, layout=["file"])))
    tmap.install = app.name
    library.layout.maps_dir.mkdir(parents=True, exist_ok=True)
    (library.layout.maps_dir / f"{app.name}-test.json").write_text(map_json(tmap))
