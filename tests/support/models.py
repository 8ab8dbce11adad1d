"""Models committed to a real library the way an import commits them (staged, then renamed into place),
without running identification or the importer: the test says what the model is."""

from __future__ import annotations

import hashlib
from typing import Any

from pumasfs.store.library import Library
from pumasfs.store.metadata import FileEntry, Hashes, ModelMetadata
from pumasfs.store.naming import slugify, stem_of
from pumasfs.store.staging import StagingDir

# The files of a small Diffusers-style folder model.
FOLDER_FILES = ("model_index.json", "unet/diffusion_pytorch_model.safetensors", "vae/config.json")


def add_model(lib: Library, name: str, *, family: str = "sd1", model_type: str = "diffusion",
              subtype: str | None = "checkpoints", data: bytes | None = None, added: str | None = None,
              folder: bool = False, file_name: str | None = None, tags: tuple[str, ...] | list[str] = (),
              **fields: Any) -> ModelMetadata:
    """A model named ``name``: one file ``{name}.safetensors`` (or ``file_name``) holding ``data``
    (default: the name repeated), or with ``folder`` a Diffusers-style folder.  ``fields`` go into the
    metadata as they are (e.g. ``format="safetensors"``)."""
    data = data if data is not None else name.encode() * 8
    with StagingDir(lib.layout) as stage:
        sha = hashlib.sha256(data).hexdigest()
        if folder:
            for rel in FOLDER_FILES:
                p = stage.content / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data + rel.encode())
            files = [FileEntry(name=r, original_name=r, size=len(data) + len(r.encode()),
                               role="config" if r.endswith(".json") else "weights") for r in FOLDER_FILES]
            primary, layout = None, "folder"
        else:
            fname = file_name or f"{name}.safetensors"
            (stage.content / fname).write_bytes(data)
            files = [FileEntry(name=fname, original_name=fname, size=len(data), sha256=sha)]
            primary, layout = fname, "file"
        meta = ModelMetadata(
            model_id="", family=family, model_type=model_type, subtype=subtype, official_name=name,
            cleaned_name=name.lower(), hashes=Hashes(sha256=sha), size_bytes=sum(f.size for f in files),
            files=files, primary_file=primary, layout=layout, tags=list(tags),
            **({"added_date": added} if added else {}), **fields,
        )
        return lib.commit_staged(stage, meta)


def add_file_model(
    library: Library,
    file_name: str,
    data: bytes,
    *,
    model_type: str = "llm",
    family: str = "llama",
    subtype: str | None = None,
    extra_files: dict[str, bytes] | None = None,
    layout: str = "file",
    original_name: str | None = None,
    **fields: Any,
) -> ModelMetadata:
    """A model as an import of the file ``file_name`` leaves it (named from the file, pending a hub
    lookup, sha256 of every file known): what the hub tests look up.  ``extra_files`` are more files of
    the same model (shards, configs)."""
    files = {file_name: data, **(extra_files or {})}
    with StagingDir(library.layout) as stage:
        entries = []
        for name, content in files.items():
            p = stage.content / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
            role = "weights" if name.endswith((".safetensors", ".gguf", ".bin", ".ckpt")) else "config"
            entries.append(FileEntry(name=name, original_name=name.rsplit("/", 1)[-1], size=len(content),
                                     sha256=hashlib.sha256(content).hexdigest(), role=role))
        stem = stem_of(original_name or file_name)
        meta = ModelMetadata(
            model_id="x", family=family, model_type=model_type, subtype=subtype,
            official_name=stem, cleaned_name=slugify(stem), files=entries,
            hashes={"sha256": hashlib.sha256(data).hexdigest()}, size_bytes=sum(len(c) for c in files.values()),
            original_name=original_name or file_name, primary_file=file_name, layout=layout, **fields,
        )
        return library.commit_staged(stage, meta)
