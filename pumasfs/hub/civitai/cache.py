"""What CivitAI told us, kept under ``cache/civitai/`` so re-running costs no requests.

Three kinds of entries: which version a SHA256 belongs to (an answer of "not
on CivitAI" is kept too, so an unknown file is not asked about again within
the day), a version's JSON, and a model's JSON (its versions, for
``pumas outdated``).  Written atomically; a damaged entry is a miss.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from pumasfs.base import atomic
from pumasfs.base.paths import Layout
from pumasfs.hub.cache import _safe
from pumasfs.hub.civitai.api import CivModel, CivVersion

TTL_S = 24 * 3600


class HashEntry(BaseModel):
    sha256: str
    version_id: int | None  # None: CivitAI does not know these bytes
    fetched_at: float = Field(default_factory=time.time)


class _Stored(BaseModel):
    fetched_at: float = Field(default_factory=time.time)
    data: dict[str, Any]


class CivitaiCache:
    def __init__(self, layout: Layout, endpoint: str, *, ttl_s: float = TTL_S) -> None:
        self.root = layout.cache_dir / "civitai" / _safe(endpoint)
        self.ttl_s = ttl_s

    def _fresh(self, fetched_at: float) -> bool:
        return 0 <= time.time() - fetched_at < self.ttl_s

    def _write(self, path: Path, model: BaseModel) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(path, model.model_dump_json().encode())
        except OSError:
            pass  # a cache that cannot be written only costs requests

    def _read(self, path: Path, cls: type[BaseModel]) -> Any:
        try:
            return cls.model_validate_json(path.read_bytes())
        except (OSError, ValidationError, ValueError):
            return None

    def get_hash(self, sha256: str) -> HashEntry | None:
        e = self._read(self.root / "hash" / f"{sha256.lower()}.json", HashEntry)
        return e if e is not None and self._fresh(e.fetched_at) else None

    def put_hash(self, sha256: str, version_id: int | None) -> None:
        self._write(self.root / "hash" / f"{sha256.lower()}.json", HashEntry(sha256=sha256.lower(), version_id=version_id))

    def get_version(self, version_id: int, *, stale_ok: bool = False) -> CivVersion | None:
        e = self._read(self.root / "versions" / f"{int(version_id)}.json", _Stored)
        if e is None or not (stale_ok or self._fresh(e.fetched_at)):
            return None
        try:
            return CivVersion.model_validate(e.data)
        except ValidationError:
            return None

    def put_version(self, v: CivVersion) -> None:
        self._write(self.root / "versions" / f"{v.id}.json", _Stored(data=v.raw()))

    def get_model(self, model_id: int, *, stale_ok: bool = False) -> CivModel | None:
        e = self._read(self.root / "models" / f"{int(model_id)}.json", _Stored)
        if e is None or not (stale_ok or self._fresh(e.fetched_at)):
            return None
        try:
            return CivModel.model_validate(e.data)
        except ValidationError:
            return None

    def put_model(self, m: CivModel) -> None:
        self._write(self.root / "models" / f"{m.id}.json", _Stored(data=m.model_dump(mode="json", exclude_unset=True)))
