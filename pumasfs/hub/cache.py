"""What the hub told us, kept for a day under ``cache/hub/``.

A repo's file list (with each LFS file's sha256) and its card data are
fetched once and reused for 24 hours by lookups, ``show --related`` and
downloads, so that re-running ``pumas enrich`` over a library does not cost
the hub the same requests again.  Search results are cached too, including
empty ones.  Every file is written atomically; a damaged one is a miss.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pumasfs.base import atomic
from pumasfs.base.paths import Layout

TTL_S = 24 * 3600
CACHE_SCHEMA = 1


class HubFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str
    size: int | None = None
    blob_id: str | None = None  # git sha1 of the blob (what a non-LFS file is checked against)
    sha256: str | None = None  # LFS sha256: the file's bytes


class RepoSnapshot(BaseModel):
    """One repo at one commit, as model_info(files_metadata=True) described it."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = CACHE_SCHEMA
    repo_id: str
    revision: str  # what was asked for (main, a tag, a commit)
    sha: str | None = None  # the commit it resolved to
    fetched_at: float = Field(default_factory=time.time)
    files: list[HubFile] = Field(default_factory=list)
    pipeline_tag: str | None = None
    library_name: str | None = None
    tags: list[str] = Field(default_factory=list)
    card: dict[str, Any] = Field(default_factory=dict)  # the card's YAML header, trimmed
    created_at: str | None = None
    last_modified: str | None = None
    gated: str | bool | None = None
    private: bool | None = None
    downloads: int | None = None
    readme_summary: str | None = None
    readme_fetched: bool = False

    def by_sha256(self) -> dict[str, HubFile]:
        return {f.sha256: f for f in self.files if f.sha256}

    def file(self, path: str) -> HubFile | None:
        for f in self.files:
            if f.path == path:
                return f
        return None


class SearchHit(BaseModel):
    repo_id: str
    downloads: int = 0
    likes: int = 0
    pipeline_tag: str | None = None


class SearchResult(BaseModel):
    schema_version: int = CACHE_SCHEMA
    query: str
    fetched_at: float = Field(default_factory=time.time)
    hits: list[SearchHit] = Field(default_factory=list)


def _safe(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-._" else "_" for c in text)[:80]
    return f"{keep}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


class HubCache:
    def __init__(self, layout: Layout, *, ttl_s: float = TTL_S, endpoint: str = "") -> None:
        # One cache per endpoint: a mirror and the public hub may disagree.
        self.root = layout.cache_dir / "hub" / _safe(endpoint or "default")
        self.ttl_s = ttl_s

    def _tree_path(self, repo_id: str, revision: str) -> Path:
        return self.root / "repos" / f"{_safe(repo_id + '@' + revision)}.json"

    def _search_path(self, query: str) -> Path:
        return self.root / "search" / f"{_safe(query.lower())}.json"

    def _fresh(self, fetched_at: float) -> bool:
        return 0 <= time.time() - fetched_at < self.ttl_s

    def _write(self, path: Path, model: BaseModel) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(path, model.model_dump_json(indent=1).encode())
        except OSError:
            pass  # a cache that cannot be written only costs requests

    def get_repo(self, repo_id: str, revision: str, *, stale_ok: bool = False) -> RepoSnapshot | None:
        try:
            snap = RepoSnapshot.model_validate_json(self._tree_path(repo_id, revision).read_bytes())
        except (OSError, ValidationError, ValueError):
            return None
        if snap.schema_version != CACHE_SCHEMA or not (stale_ok or self._fresh(snap.fetched_at)):
            return None
        return snap

    def put_repo(self, snap: RepoSnapshot) -> None:
        self._write(self._tree_path(snap.repo_id, snap.revision), snap)
        if snap.sha and snap.sha != snap.revision:
            self._write(self._tree_path(snap.repo_id, snap.sha), snap.model_copy(update={"revision": snap.sha}))

    def get_search(self, query: str) -> SearchResult | None:
        try:
            res = SearchResult.model_validate_json(self._search_path(query).read_bytes())
        except (OSError, ValidationError, ValueError):
            return None
        return res if self._fresh(res.fetched_at) else None

    def put_search(self, res: SearchResult) -> None:
        self._write(self._search_path(res.query), res)

    def fresh_repos(self) -> list[RepoSnapshot]:
        """Every fresh snapshot on disk: a free first look for a hash before any search."""
        out = []
        d = self.root / "repos"
        try:
            paths = sorted(d.glob("*.json"))
        except OSError:
            return []
        for p in paths:
            try:
                snap = RepoSnapshot.model_validate_json(p.read_bytes())
            except (OSError, ValidationError, ValueError):
                continue
            if self._fresh(snap.fetched_at):
                out.append(snap)
        return out
