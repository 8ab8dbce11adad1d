"""Files apps read beside a model: ``<stem>.preview.<ext>`` and ``<stem>.civitai.info``.

ComfyUI shows ``<name>.preview.png`` (any image type) next to a model in its
model library; A1111/Forge extensions read ``<stem>.preview.png`` and treat a
model with a ``<stem>.civitai.info`` (the CivitAI version JSON, as Civitai
Helper writes it) as known.  We write both into the model's folder in the
library, listed in metadata.json with ``origin: "civitai"``; the planner then
links them beside the model's link in every app.

Only files we wrote are ever replaced: a preview or info file that came with
an imported or adopted model stays as it is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from pumasfs.base import atomic
from pumasfs.base.paths import Layout
from pumasfs.hub.civitai.api import CivImage, CivVersion
from pumasfs.store.metadata import FileEntry, ModelMetadata

ORIGIN = "civitai"
IMAGE_EXTS = ("png", "jpeg", "jpg", "webp", "gif")
_CTYPE_EXT = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/webp": "webp", "image/gif": "gif"}


@dataclass(frozen=True)
class Preview:
    data: bytes
    ext: str
    source_url: str


def choose_image(v: CivVersion, nsfw_max: int) -> CivImage | None:
    """The first still image whose NSFW level is within the user's setting (0, unrated, only with "all")."""
    for img in v.images:
        if img.type != "image" or not img.url:
            continue
        level = img.nsfwLevel or 0
        if (level == 0 and nsfw_max >= 31) or (0 < level <= nsfw_max):
            return img
    return None


def sniff_ext(data: bytes, url: str, content_type: str) -> str | None:
    """The image's real type, from its first bytes: an HTML error page is never saved as a preview."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def _stem(meta: ModelMetadata) -> str | None:
    """The primary file's path without its extension; None for folder models (apps see one entry)."""
    if meta.layout != "file" or not meta.primary_file:
        return None
    p = meta.primary_file
    return p.rpartition(".")[0] or p


def _ours(f: FileEntry) -> bool:
    return (f.model_extra or {}).get("origin") == ORIGIN


def _has_foreign(meta: ModelMetadata, stem: str, kind: str) -> bool:
    for f in meta.files:
        if _ours(f):
            continue
        name = f.name.lower()
        if kind == "preview" and f.role == "preview":
            return True
        if kind == "info" and name == (stem + ".civitai.info").lower():
            return True
    return False


def wants_preview(meta: ModelMetadata) -> bool:
    stem = _stem(meta)
    return stem is not None and not any(f.role == "preview" for f in meta.files)


def info_bytes(v: CivVersion) -> bytes:
    return (json.dumps(v.raw(), indent=4, ensure_ascii=False) + "\n").encode("utf-8")


def _put(layout: Layout, meta: ModelMetadata, name: str, data: bytes, role: str) -> bool:
    """Write one of our sidecars into the model folder and list it; False when unchanged."""
    path = layout.model_dir(meta.model_id) / name
    sha = hashlib.sha256(data).hexdigest()
    for f in meta.files:
        if f.name == name:
            if not _ours(f):
                return False  # never over a file we did not write
            if f.sha256 == sha and path.is_file():
                return False
    atomic.write_bytes(path, data)
    entry = FileEntry.model_validate({"name": name, "original_name": PurePosixPath(name).name, "size": len(data),
                                      "sha256": sha, "role": role, "origin": ORIGIN})
    meta.files = [f for f in meta.files if f.name != name] + [entry]
    return True


def _drop(layout: Layout, meta: ModelMetadata, keep: set[str], role: str) -> bool:
    """Remove our earlier sidecars of this role that the new ones replace (another extension)."""
    gone = [f for f in meta.files if _ours(f) and f.role == role and f.name not in keep]
    for f in gone:
        (layout.model_dir(meta.model_id) / f.name).unlink(missing_ok=True)
    meta.files = [f for f in meta.files if f not in gone]
    return bool(gone)


def write_sidecars(layout: Layout, meta: ModelMetadata, v: CivVersion, preview: Preview | None) -> list[str]:
    """Write (or refresh) our preview and info beside the primary file; returns the names written."""
    stem = _stem(meta)
    if stem is None:
        return []
    written: list[str] = []
    if not _has_foreign(meta, stem, "info"):
        name = f"{stem}.civitai.info"
        if _put(layout, meta, name, info_bytes(v), "info"):
            written.append(name)
    if preview is not None and not _has_foreign(meta, stem, "preview"):
        name = f"{stem}.preview.{preview.ext}"
        changed = _put(layout, meta, name, preview.data, "preview")
        if _drop(layout, meta, {name}, "preview") or changed:
            written.append(name)
        if "preview_image" not in meta.user_edited and (
            meta.preview_image is None or meta.preview_image not in {f.name for f in meta.files}
        ):
            meta.preview_image = name
    return written
