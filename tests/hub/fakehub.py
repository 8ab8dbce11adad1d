"""A small stand-in for the Hugging Face Hub on 127.0.0.1, for the real huggingface_hub client.

It answers what the client asks, shaped like the hub's answers: model search
(``GET /api/models``), model info with file metadata (``GET /api/models/{repo}
[/revision/{rev}]?blobs=True``), the tree (``GET /api/models/{repo}/tree/{rev}``),
paths-info (``POST /api/models/{repo}/paths-info/{rev}``) and file resolution
(``HEAD``/``GET /{repo}/resolve/{rev}/{path}``) with ETag, X-Repo-Commit,
X-Linked-Etag/X-Linked-Size and Range support.  Errors carry ``X-Error-Code``
the way the hub's do (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo).

Behaviours a test switches on: the next N matching requests fail with a status
(429 with Retry-After, 500...), every request waits (a slow hub), a file is
served with other bytes than announced, a transfer drops or stalls after N bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


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


@dataclass
class Failure:
    pattern: re.Pattern
    status: int
    count: int
    headers: dict = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    at: float
    status: int = 0


class FakeHub:
    def __init__(self, token: str = "hf_good_token") -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.token = token
        self.log: list[Seen] = []
        self.failures: list[Failure] = []
        self.delay_s = 0.0
        self.drop_after: dict[str, int] = {}  # path in repo -> bytes sent before closing (once)
        self.stall_after: dict[str, int] = {}  # path in repo -> bytes sent before hanging
        self.release = threading.Event()
        self._lock = threading.Lock()
        hub = self

        class Handler(_Handler):
            fake = hub

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def repo(self, repo_id: str, **kw) -> FakeRepo:
        r = FakeRepo(repo_id, **kw)
        self.repos[repo_id] = r
        return r

    def fail(self, pattern: str, status: int, count: int = 1, **headers: str) -> None:
        """The next `count` requests whose "METHOD /path" matches `pattern` answer `status`."""
        self.failures.append(Failure(re.compile(pattern), status, count, {k.replace("_", "-"): v for k, v in headers.items()}))

    def requests(self, pattern: str = "") -> list[Seen]:
        rx = re.compile(pattern)
        with self._lock:
            return [s for s in self.log if rx.search(f"{s.method} {s.path}")]

    def _take_failure(self, line: str) -> Failure | None:
        with self._lock:
            for f in self.failures:
                if f.count > 0 and f.pattern.search(line):
                    f.count -= 1
                    return f
        return None


_MODEL_API = re.compile(r"^/api/models/([^/]+/[^/]+?)(?:/revision/([^/]+))?$")
_TREE_API = re.compile(r"^/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?$")
_PATHS_API = re.compile(r"^/api/models/([^/]+/[^/]+)/paths-info/([^/]+)$")
_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    # -- helpers -------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._seen.status = status

    def _json(self, obj, status: int = 200, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _error(self, status: int, code: str | None, message: str, extra: dict | None = None) -> None:
        headers = {"X-Error-Message": message, **(extra or {})}
        if code:
            headers["X-Error-Code"] = code
        self._json({"error": message}, status, headers)

    def _authorized(self) -> bool:
        return self.headers.get("authorization") == f"Bearer {self.fake.token}"

    def _repo(self, repo_id: str) -> FakeRepo | None:
        repo = self.fake.repos.get(unquote(repo_id))
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
        return repo

    def _rev_ok(self, repo: FakeRepo, rev: str) -> bool:
        if unquote(rev) in ("main", repo.sha):
            return True
        self._error(404, "RevisionNotFound", "Invalid rev id: " + rev)
        return False

    # -- dispatch ------------------------------------------------------------

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qs(parts.query)
        body = b""
        if self.command == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._seen = Seen(self.command, path, query, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
        with self.fake._lock:
            self.fake.log.append(self._seen)
        if self.fake.delay_s and self.fake.release.wait(self.fake.delay_s):
            return  # the hub is shutting down
        failure = self.fake._take_failure(f"{self.command} {path}")
        if failure is not None:
            self._error(failure.status, None, f"fake failure {failure.status}", failure.headers)
            return
        if path == "/api/models" and self.command == "GET":
            return self._search(query)
        if m := _TREE_API.match(path):
            return self._tree(m.group(1), m.group(2), m.group(3), query)
        if m := _PATHS_API.match(path):
            return self._paths_info(m.group(1), m.group(2), body)
        if m := _MODEL_API.match(path):
            return self._model_info(m.group(1), m.group(2) or "main")
        if m := _RESOLVE.match(path):
            return self._resolve(m.group(1), m.group(2), unquote(m.group(3)))
        self._error(404, None, "no such endpoint")

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    # -- endpoints -----------------------------------------------------------

    def _search(self, query: dict) -> None:
        words = (query.get("search", [""])[0]).lower().split()
        limit = int(query.get("limit", ["1000"])[0])
        hits = [r for r in self.fake.repos.values() if all(w in r.repo_id.lower() for w in words)]
        hits.sort(key=lambda r: -r.downloads)
        self._json([
            {"_id": r.sha[:24], "id": r.repo_id, "modelId": r.repo_id, "likes": 1, "downloads": r.downloads,
             "tags": r.tags, "pipeline_tag": r.pipeline_tag, "library_name": r.library_name,
             "createdAt": r.created_at, "private": False}
            for r in hits[:limit]
        ])

    def _model_info(self, repo_id: str, rev: str) -> None:
        repo = self._repo(repo_id)
        if repo is None or not self._rev_ok(repo, rev):
            return
        with_blobs = query_true(urlsplit(self.path).query, "blobs")
        siblings = [f.sibling() if with_blobs else {"rfilename": f.path} for f in repo.files.values()]
        self._json({
            "_id": repo.sha[:24], "id": repo.repo_id, "modelId": repo.repo_id, "author": repo.repo_id.split("/")[0],
            "sha": repo.sha, "lastModified": repo.created_at, "createdAt": repo.created_at, "private": False,
            "gated": repo.gated, "disabled": False, "downloads": repo.downloads, "likes": 1,
            "library_name": repo.library_name, "pipeline_tag": repo.pipeline_tag, "tags": repo.tags,
            "cardData": repo.card_data or None, "siblings": siblings,
        })

    def _tree(self, repo_id: str, rev: str, sub: str | None, query: dict) -> None:
        repo = self._repo(repo_id)
        if repo is None or not self._rev_ok(repo, rev):
            return
        prefix = (unquote(sub).strip("/") + "/") if sub else ""
        recursive = query.get("recursive", ["False"])[0].lower() == "true"
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
        self._json(out)

    def _paths_info(self, repo_id: str, rev: str, body: bytes) -> None:
        repo = self._repo(repo_id)
        if repo is None or not self._rev_ok(repo, rev):
            return
        form = parse_qs(body.decode())
        paths = form.get("paths", [])
        self._json([repo.files[p].entry() for p in paths if p in repo.files])

    def _resolve(self, repo_id: str, rev: str, file_path: str) -> None:
        repo = self._repo(repo_id)
        if repo is None or not self._rev_ok(repo, rev):
            return
        if repo.gated and not self._authorized():
            self._error(401, "GatedRepo", f"Access to model {repo.repo_id} is restricted.")
            return
        f = repo.files.get(file_path)
        if f is None:
            self._error(404, "EntryNotFound", f"{file_path} does not exist", {"X-Repo-Commit": repo.sha})
            return
        data = f.served if f.served is not None else f.data
        etag = f.sha256 if f.lfs else f.blob_id
        headers = {"ETag": f'"{etag}"', "X-Repo-Commit": repo.sha, "Accept-Ranges": "bytes"}
        if f.lfs:
            headers.update({"X-Linked-Etag": f'"{f.sha256}"', "X-Linked-Size": str(len(data))})
        start = 0
        rng = self.headers.get("Range")
        status = 200
        if rng and (m := re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())):
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else len(data) - 1
            if start >= len(data):
                self._error(416, None, "range not satisfiable", {"Content-Range": f"bytes */{len(data)}"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data = data[start : end + 1]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self._seen.status = status
        if self.command == "HEAD":
            return
        cut = None
        if status == 200 and file_path in self.fake.drop_after:
            cut = self.fake.drop_after.pop(file_path)
        stall = self.fake.stall_after.get(file_path)
        if stall is not None and status == 200:
            self.wfile.write(data[:stall])
            self.wfile.flush()
            self.fake.release.wait(120)
            self.close_connection = True
            return
        if cut is not None:
            self.wfile.write(data[:cut])
            self.wfile.flush()
            self.close_connection = True  # the client sees a body cut short
            return
        self.wfile.write(data)


def query_true(query: str, key: str) -> bool:
    return parse_qs(query).get(key, ["false"])[0].lower() == "true"
