"""A small stand-in for the Hugging Face Hub on 127.0.0.1, for the real huggingface_hub client.

It answers what the client asks, shaped like the hub's answers: model search
(``GET /api/models``), model info with file metadata (``GET /api/models/{repo}
[/revision/{rev}]?blobs=True``), the tree (``GET /api/models/{repo}/tree/{rev}``),
paths-info (``POST /api/models/{repo}/paths-info/{rev}``) and file resolution
(``HEAD``/``GET /{repo}/resolve/{rev}/{path}``) with ETag, X-Repo-Commit,
X-Linked-Etag/X-Linked-Size and Range support.  Errors carry ``X-Error-Code``
the way the hub's do (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo).

A file can be served with other bytes than announced (``served``); failing,
slow, dropped and stalled answers (``drop_after``/``stall_after`` by path in
the repo) are :mod:`tests.support.fakeservice`'s, shared with the fake CivitAI.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import parse_qs, unquote

from tests.support.fakeservice import FakeService, Route, ServiceHandler, route


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FakeFile:
    path: str
    data: bytes
    lfs: bool = True
    served: bytes | None = None  # bytes actually sent, when they should differ from `data`

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.data)}\n".encode()

    @property
    def blob_id(self) -> str:
        return git_blob_id(self.pointer if self.lfs else self.data)

    def entry(self) -> dict:
        out = {"type": "file", "oid": self.blob_id, "size": len(self.data), "path": self.path}
        if self.lfs:
            out["lfs"] = {"oid": self.sha256, "size": len(self.data), "pointerSize": len(self.pointer)}
        return out

    def sibling(self) -> dict:
        out = {"rfilename": self.path, "size": len(self.data), "blobId": self.blob_id}
        if self.lfs:
            out["lfs"] = {"sha256": self.sha256, "size": len(self.data), "pointerSize": len(self.pointer)}
        return out


@dataclass
class FakeRepo:
    repo_id: str
    files: dict[str, FakeFile] = field(default_factory=dict)
    pipeline_tag: str | None = None
    library_name: str | None = None
    tags: list[str] = field(default_factory=list)
    card_data: dict = field(default_factory=dict)
    created_at: str = "2024-09-25T14:00:00.000Z"
    gated: bool | str = False
    downloads: int = 100

    @property
    def sha(self) -> str:
        h = hashlib.sha1(self.repo_id.encode())
        for f in sorted(self.files):
            h.update(f.encode() + self.files[f].sha256.encode())
        return h.hexdigest()

    def add(self, path: str, data: bytes, *, lfs: bool | None = None) -> FakeFile:
        if lfs is None:
            lfs = not path.endswith((".json", ".md", ".txt", ".yaml", ".gitattributes"))
        f = FakeFile(path, data, lfs)
        self.files[path] = f
        return f


class FakeHub(FakeService):
    def __init__(self, token: str = "hf_good_token") -> None:
        self.repos: dict[str, FakeRepo] = {}
        super().__init__(token)

    def repo(self, repo_id: str, **kw) -> FakeRepo:
        r = FakeRepo(repo_id, **kw)
        self.repos[repo_id] = r
        return r


_REPO = r"([^/]+/[^/]+?)"


class _Handler(ServiceHandler):
    fake: ClassVar[FakeHub]

    # -- the hub's way of saying no -------------------------------------------

    def error(self, status: int, code: str | None, message: str, extra: dict | None = None) -> None:
        headers = {"X-Error-Message": message, **(extra or {})}
        if code:
            headers["X-Error-Code"] = code
        self.json({"error": message}, status, headers)

    def refuse(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self.error(status, None, message, headers)

    def not_found(self) -> None:
        self.error(404, None, "no such endpoint")

    def _authorized(self) -> bool:
        return self.headers.get("authorization") == f"Bearer {self.fake.token}"

    def _repo(self, repo_id: str, rev: str) -> FakeRepo | None:
        """The repo at a revision it has, or None once the hub's 404 is sent."""
        repo = self.fake.repos.get(unquote(repo_id))
        if repo is None:
            self.error(404, "RepoNotFound", "Repository not found")
            return None
        if unquote(rev) not in ("main", repo.sha):
            self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
            return None
        return repo

    # -- endpoints -----------------------------------------------------------

    def search(self) -> None:
        words = (self.query.get("search", [""])[0]).lower().split()
        limit = int(self.query.get("limit", ["1000"])[0])
        hits = [r for r in self.fake.repos.values() if all(w in r.repo_id.lower() for w in words)]
        hits.sort(key=lambda r: -r.downloads)
        self.json([
            {"_id": r.sha[:24], "id": r.repo_id, "modelId": r.repo_id, "likes": 1, "downloads": r.downloads,
             "tags": r.tags, "pipeline_tag": r.pipeline_tag, "library_name": r.library_name,
             "createdAt": r.created_at, "private": False}
            for r in hits[:limit]
        ])

    def model_info(self, repo_id: str, rev: str | None) -> None:
        repo = self._repo(repo_id, rev or "main")
        if repo is None:
            return
        with_blobs = self.query.get("blobs", ["false"])[0].lower() == "true"
        siblings = [f.sibling() if with_blobs else {"rfilename": f.path} for f in repo.files.values()]
        self.json({
            "_id": repo.sha[:24], "id": repo.repo_id, "modelId": repo.repo_id, "author": repo.repo_id.split("/")[0],
            "sha": repo.sha, "lastModified": repo.created_at, "createdAt": repo.created_at, "private": False,
            "gated": repo.gated, "disabled": False, "downloads": repo.downloads, "likes": 1,
            "library_name": repo.library_name, "pipeline_tag": repo.pipeline_tag, "tags": repo.tags,
            "cardData": repo.card_data or None, "siblings": siblings,
        })

    def tree(self, repo_id: str, rev: str, sub: str | None) -> None:
        repo = self._repo(repo_id, rev)
        if repo is None:
            return
        prefix = (unquote(sub).strip("/") + "/") if sub else ""
        recursive = self.query.get("recursive", ["False"])[0].lower() == "true"
        out, dirs = [], set()
        for f in repo.files.values():
            if not f.path.startswith(prefix):
                continue
            rest = f.path[len(prefix):]
            if "/" in rest and not recursive:
                dirs.add(prefix + rest.split("/")[0])
                continue
            for i in range(rest.count("/")):
                dirs.add(prefix + "/".join(rest.split("/")[: i + 1]))
            out.append(f.entry())
        out += [{"type": "directory", "oid": git_blob_id(d.encode()), "size": 0, "path": d} for d in sorted(dirs)]
        self.json(out)

    def paths_info(self, repo_id: str, rev: str) -> None:
        repo = self._repo(repo_id, rev)
        if repo is None:
            return
        paths = parse_qs(self.seen.body.decode()).get("paths", [])
        self.json([repo.files[p].entry() for p in paths if p in repo.files])

    def resolve(self, repo_id: str, rev: str, file_path: str) -> None:
        repo = self._repo(repo_id, rev)
        if repo is None:
            return
        file_path = unquote(file_path)
        if repo.gated and not self._authorized():
            self.error(401, "GatedRepo", f"Access to model {repo.repo_id} is restricted.")
            return
        f = repo.files.get(file_path)
        if f is None:
            self.error(404, "EntryNotFound", f"{file_path} does not exist", {"X-Repo-Commit": repo.sha})
            return
        data = f.served if f.served is not None else f.data
        etag = f.sha256 if f.lfs else f.blob_id
        headers = {"ETag": f'"{etag}"', "X-Repo-Commit": repo.sha}
        if f.lfs:
            headers.update({"X-Linked-Etag": f'"{f.sha256}"', "X-Linked-Size": str(len(data))})
        self.send_file(data, headers, key=file_path)

    routes: ClassVar[list[Route]] = [
        route("GET", r"/api/models", search),
        route("GET HEAD POST", rf"/api/models/{_REPO}/tree/([^/]+)(?:/(.*))?", tree),
        route("GET HEAD POST", rf"/api/models/{_REPO}/paths-info/([^/]+)", paths_info),
        route("GET HEAD POST", rf"/api/models/{_REPO}(?:/revision/([^/]+))?", model_info),
        route("GET HEAD POST", rf"/{_REPO}/resolve/([^/]+)/(.+)", resolve),
    ]


FakeHub.handler = _Handler
