"""Checking downloaded bytes against what the hub says they are, as they are written.

LFS files carry a sha256; small files only git's blob id (sha1 of
``blob <size>\\0`` + bytes).  The hash is fed while the bytes arrive, and a
resumed ``.part`` is hashed from its start first, so no file is read twice.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pumasfs.base.errors import PumasError
from pumasfs.hub.cache import HubFile

_HASH_CHUNK = 8 << 20


class Mismatch(PumasError):
    """Bytes that are not the file the hub names: never imported, never kept."""


class Hasher:
    """sha256 (LFS) or git's blob sha1 (small files), fed as bytes are written."""

    def __init__(self, f: HubFile) -> None:
        self.f = f
        self.reset()

    def reset(self) -> None:
        if self.f.sha256:
            self.h = hashlib.sha256()
        else:
            self.h = hashlib.sha1()  # noqa: S324 - git's object id, not a security hash
            self.h.update(b"blob %d\0" % (self.f.size or 0))

    def update(self, data: bytes) -> None:
        self.h.update(data)

    def matches(self) -> tuple[bool, str]:
        got = self.h.hexdigest()
        want = self.f.sha256 or self.f.blob_id
        return got == want, got


def hash_prefix(path: Path, hasher: Hasher, length: int) -> None:
    with open(path, "rb") as f:
        left = length
        while left > 0:
            chunk = f.read(min(_HASH_CHUNK, left))
            if not chunk:
                break
            hasher.update(chunk)
            left -= len(chunk)
