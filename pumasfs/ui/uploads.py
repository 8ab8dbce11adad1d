"""Files dropped on the page: streamed into the library's staging area, hashed on the way.

A drop becomes one *batch*: a locked staging folder under ``.downloads/``
(the library's filesystem, so the import that follows moves the bytes with a
hard link instead of copying them again).  Each file arrives as the raw body
of one request and is written in fixed-size chunks while its SHA256 is
computed, so a 10 GiB drop costs the server the same memory as a 10 KiB one.
Names come from the browser and are not trusted: :func:`safe_relpath`
refuses anything that could leave the batch folder.  A batch nobody imports
is removed when the server stops, and a killed server's batches are swept by
the next import like any other staging folder.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pumasfs.base.errors import PumasError
from pumasfs.base.paths import Layout
from pumasfs.store import staging

CHUNK = 1 << 20  # write and hash 1 MiB at a time
MAX_NAME_BYTES = 255
MAX_DEPTH = 16


def safe_relpath(name: str) -> PurePosixPath:
    """A browser-given relative file name, checked to stay inside its batch folder."""
    if not name or "\0" in name:
        raise PumasError("upload refused: empty file name or NUL in it")
    if "\\" in name:
        raise PumasError(f"upload refused: {name!r}: backslashes are not allowed in names")
    if name.startswith("/"):
        raise PumasError(f"upload refused: {name!r} is an absolute path")
    parts = name.split("/")  # the raw parts: PurePosixPath would quietly drop "." and "//"
    if not parts or len(parts) > MAX_DEPTH:
        raise PumasError(f"upload refused: {name!r}: too deep")
    for part in parts:
        if part in (".", "..") or part.strip() == "":
            raise PumasError(f"upload refused: {name!r} would leave the upload folder")
        if len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise PumasError(f"upload refused: {name!r}: a name is longer than {MAX_NAME_BYTES} bytes")
        if any(ord(c) < 32 for c in part):
            raise PumasError(f"upload refused: {name!r}: control characters in the name")
    return PurePosixPath(*parts)


@dataclass
class UploadedFile:
    name: str
    size: int
    sha256: str


@dataclass
class Batch:
    id: str
    stage: staging.StagingDir
    files: list[UploadedFile] = field(default_factory=list)
    importing: bool = False

    @property
    def folder(self) -> Path:
        return self.stage.path / "files"

    def top_level(self) -> list[Path]:
        """What to hand the importer: each dropped file or folder, as dropped."""
        return sorted(self.folder.iterdir()) if self.folder.is_dir() else []


class Uploads:
    """The open batches of this server run."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.batches: dict[str, Batch] = {}
        self._lock = threading.Lock()

    def open(self) -> Batch:
        stage = staging.StagingDir(self.layout, prefix="import-ui-")
        batch = Batch(id=secrets.token_hex(8), stage=stage)
        batch.folder.mkdir()
        with self._lock:
            self.batches[batch.id] = batch
        return batch

    def get(self, batch_id: str) -> Batch:
        batch = self.batches.get(batch_id)
        if batch is None:
            raise PumasError(f"no upload batch {batch_id!r} (it was imported or discarded)")
        return batch

    def close(self, batch_id: str) -> None:
        with self._lock:
            batch = self.batches.pop(batch_id, None)
        if batch is not None:
            batch.stage.close()

    def close_all(self) -> None:
        for batch_id in list(self.batches):
            self.close(batch_id)


class FileWriter:
    """One upload being written: chunks in, bytes to disk and to the hash."""

    def __init__(self, batch: Batch, name: str) -> None:
        rel = safe_relpath(name)
        if batch.importing:
            raise PumasError("upload refused: this batch is already being imported")
        self.batch = batch
        self.rel = rel
        self.dest = batch.folder.joinpath(*rel.parts)
        # The checks above keep the name inside the folder; a symlink cannot be in
        # the way because only this server writes into a fresh batch folder.
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        if self.dest.exists():
            raise PumasError(f"upload refused: {name!r} was already uploaded in this batch")
        self._fd = os.open(self.dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        self._sha = hashlib.sha256()
        self.size = 0
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> None:
        """Buffer up to one CHUNK, then write it (the caller runs this in a worker thread)."""
        self._buf += chunk
        if len(self._buf) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        view = memoryview(self._buf)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self._sha.update(self._buf)
        self.size += len(self._buf)
        self._buf = bytearray()

    def finish(self) -> UploadedFile:
        self._flush()
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        f = UploadedFile(self.rel.as_posix(), self.size, self._sha.hexdigest())
        self.batch.files.append(f)
        return f

    def abort(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.dest.unlink(missing_ok=True)
