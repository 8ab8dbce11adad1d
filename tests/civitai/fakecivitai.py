"""A small stand-in for CivitAI on 127.0.0.1, answering the way civitai.com does.

Endpoints (shapes as the public REST API gives them):

* ``GET /api/v1/model-versions/by-hash/{hash}``: SHA256, BLAKE3, AutoV1, AutoV2,
  AutoV3 or CRC32, case-insensitive; 404 ``{"error":"Model not found"}`` (or
  ``{"error":"Missing model file"}`` for a file of an archived model), 400
  ``{"error":"Invalid hash: ..."}`` for something that is not a hash.
* ``POST /api/v1/model-versions/by-hash``: a JSON array of at most 100 SHA256
  -> an array of the versions found (unknown hashes are simply absent).
* ``GET /api/v1/models/{id}``, ``GET /api/v1/model-versions/{id}``.
* ``GET /api/download/models/{versionId}[?type=&format=]``: 302 to a signed
  storage URL (``/storage/...?sig=``) that serves the bytes with Range support.
  A gated file without a token: 401 ``{"error":"Unauthorized"}`` to a client
  that accepts JSON, otherwise a 302 to an HTML login page.  Early access: 403
  ``{"error":"Early Access","deadline":...}``.  Token: ``Authorization:
  Bearer`` or ``?token=``.
* ``GET /images/{name}``: preview images.

Edge rate limits are 429 *without* Retry-After (``fail()``, with an HTML
body).  A file can be served with other bytes than announced (``served``);
slow answers and stalled transfers (``stall_after`` by file id) are
:mod:`tests.support.fakeservice`'s, shared with the fake hub.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import ClassVar

from blake3 import blake3

from tests.support.fakeservice import Failure, FakeService, Route, ServiceHandler, route

MAX_BATCH = 100


def autov1(data: bytes) -> str:
    """A1111's old hash: sha256 of 64 KiB at offset 1 MiB, 8 hex digits."""
    return hashlib.sha256(data[0x100000:0x110000]).hexdigest()[:8]


def autov3(data: bytes) -> str:
    """The sha256 of a safetensors file's tensor bytes (after its header), 12 hex digits."""
    start = 0
    if len(data) >= 8:
        n = int.from_bytes(data[:8], "little")
        if 8 + n <= len(data):
            start = 8 + n
    return hashlib.sha256(data[start:]).hexdigest()[:12]


@dataclass
class FakeFile:
    name: str
    data: bytes
    type: str = "Model"
    primary: bool = True
    format: str = "SafeTensor"
    fp: str | None = "fp16"
    size: str | None = "pruned"
    gated: bool = False  # needs a token to download
    served: bytes | None = None  # bytes actually sent, when they should differ
    id: int = 0

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def hashes(self) -> dict[str, str]:
        key = (id(self.data), len(self.data))
        if getattr(self, "_hash_key", None) != key:  # computed once per content: lookups stay fast
            self._hash_key, self._hashes = key, self._compute_hashes()
        return dict(self._hashes)

    def _compute_hashes(self) -> dict[str, str]:
        return {
            "AutoV1": autov1(self.data).upper(),
            "AutoV2": self.sha256[:10].upper(),
            "SHA256": self.sha256.upper(),
            "CRC32": f"{zlib.crc32(self.data):08X}",
            "BLAKE3": blake3(self.data).hexdigest().upper(),
            "AutoV3": autov3(self.data).upper(),
        }


@dataclass
class FakeImage:
    data: bytes
    nsfw_level: int = 1
    ext: str = "jpeg"
    type: str = "image"
    name: str = ""


@dataclass
class FakeVersion:
    id: int
    name: str
    base_model: str = "SDXL 1.0"
    files: list[FakeFile] = field(default_factory=list)
    trained_words: list[str] = field(default_factory=list)
    images: list[FakeImage] = field(default_factory=list)
    description: str | None = "<p>Version notes</p>"
    early_access_deadline: str | None = None
    published_at: str = "2024-05-01T10:00:00.000Z"
    nsfw_level: int = 1
    model: FakeModel | None = None


@dataclass
class FakeModel:
    id: int
    name: str
    type: str = "LORA"
    tags: list[str] = field(default_factory=list)
    creator: str = "someone"
    description: str = "<p>A <b>fine</b> model.</p>"
    nsfw: bool = False
    archived: bool = False
    versions: list[FakeVersion] = field(default_factory=list)  # newest first, like the API


_AIR_ECO = {"SD 1.5": "sd1", "SDXL 1.0": "sdxl", "Pony": "sdxl", "Illustrious": "sdxl", "Flux.1 D": "flux1"}
_AIR_TYPE = {"Checkpoint": "checkpoint", "LORA": "lora", "TextualInversion": "embedding", "VAE": "vae",
             "Controlnet": "controlnet"}


class FakeCivitai(FakeService):
    def __init__(self, token: str = "civitai-good-token") -> None:
        self.models: dict[int, FakeModel] = {}
        self.json_401 = True  # False: a gated file redirects every client to the HTML login page
        self._next_id = 1000
        self._signed: dict[str, FakeFile] = {}
        super().__init__(token)

    # -- content --------------------------------------------------------------

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_model(self, name: str, **kw) -> FakeModel:
        m = FakeModel(id=self._id(), name=name, **kw)
        self.models[m.id] = m
        return m

    def add_version(self, model: FakeModel, name: str, files: list[FakeFile] | None = None, *, newest: bool = True,
                    **kw) -> FakeVersion:
        v = FakeVersion(id=self._id(), name=name, files=list(files or []), model=model, **kw)
        for f in v.files:
            f.id = self._id()
        for i, img in enumerate(v.images):
            img.name = img.name or f"{v.id}-{i}.{img.ext}"
        if newest:
            model.versions.insert(0, v)
        else:
            model.versions.append(v)
        return v

    def version(self, version_id: int) -> FakeVersion | None:
        for m in self.models.values():
            for v in m.versions:
                if v.id == version_id:
                    return v
        return None

    # -- JSON shapes ----------------------------------------------------------

    def page(self, model: FakeModel, version: FakeVersion | None = None) -> str:
        return f"{self.url}/models/{model.id}" + (f"?modelVersionId={version.id}" if version else "")

    def air(self, v: FakeVersion) -> str:
        m = v.model
        assert m is not None
        eco = _AIR_ECO.get(v.base_model, "other")
        return f"urn:air:{eco}:{_AIR_TYPE.get(m.type, 'other')}:civitai:{m.id}@{v.id}"

    def file_json(self, v: FakeVersion, f: FakeFile) -> dict:
        url = f"{self.url}/api/download/models/{v.id}"
        if not f.primary:
            url += f"?type={f.type.replace(' ', '%20')}&format={f.format}"
        return {
            "id": f.id, "sizeKB": len(f.data) / 1024, "name": f.name, "type": f.type,
            "pickleScanResult": "Success", "pickleScanMessage": "No Pickle imports",
            "virusScanResult": "Success", "virusScanMessage": None, "scannedAt": "2024-05-01T10:05:00.000Z",
            "metadata": {"format": f.format, "size": f.size, "fp": f.fp},
            "hashes": f.hashes(), "primary": f.primary, "downloadUrl": url,
        }

    def version_json(self, v: FakeVersion, *, with_model: bool = True) -> dict:
        m = v.model
        assert m is not None
        files = [] if m.archived else [self.file_json(v, f) for f in v.files]
        out: dict = {
            "id": v.id, "modelId": m.id, "name": v.name, "createdAt": v.published_at, "updatedAt": v.published_at,
            "status": "Published", "publishedAt": v.published_at, "trainedWords": list(v.trained_words),
            "trainingStatus": None, "trainingDetails": None, "baseModel": v.base_model, "baseModelType": "Standard",
            "earlyAccessEndsAt": v.early_access_deadline, "availability": "EarlyAccess" if v.early_access_deadline else "Public",
            "description": v.description, "uploadType": "Created", "air": self.air(v), "nsfwLevel": v.nsfw_level,
            "stats": {"downloadCount": 1234, "ratingCount": 0, "rating": 0, "thumbsUpCount": 56},
            "files": files,
            "images": [
                {"url": f"{self.url}/images/{img.name}", "nsfwLevel": img.nsfw_level, "width": 832, "height": 1216,
                 "hash": "U5Fid{xu00~q~qRj9FIU00ofxu%M", "type": img.type, "hasMeta": True, "onSite": False,
                 "meta": {"prompt": "a cat", "seed": 42, "steps": 30, "sampler": "Euler a", "cfgScale": 7}}
                for img in v.images
            ],
        }
        if not m.archived:
            out["downloadUrl"] = f"{self.url}/api/download/models/{v.id}"
        if with_model:
            out["model"] = {"name": m.name, "type": m.type, "nsfw": m.nsfw, "poi": False}
        return out

    def model_json(self, m: FakeModel) -> dict:
        versions = []
        for v in m.versions:
            j = self.version_json(v, with_model=False)
            j.pop("modelId", None)
            versions.append(j)
        return {
            "id": m.id, "name": m.name, "description": m.description, "allowNoCredit": True,
            "allowCommercialUse": ["Image"], "allowDerivatives": True, "allowDifferentLicense": True,
            "type": m.type, "minor": False, "poi": False, "nsfw": m.nsfw, "nsfwLevel": 1,
            "availability": "Public", "cosmetic": None, "supportsGeneration": False,
            "stats": {"downloadCount": 1234, "favoriteCount": 0, "thumbsUpCount": 56, "commentCount": 1},
            "creator": {"username": m.creator, "image": None}, "tags": list(m.tags), "modelVersions": versions,
        }

    # -- lookups --------------------------------------------------------------

    def find_hash(self, value: str) -> tuple[FakeVersion | None, bool]:
        """(version, archived) for a hash of any kind."""
        want = value.upper()
        for m in self.models.values():
            for v in m.versions:
                for f in v.files:
                    if want in f.hashes().values():
                        return v, m.archived
        return None, False

    def signed_url(self, f: FakeFile) -> str:
        key = hashlib.sha256(f"{f.id}:{time.time()}".encode()).hexdigest()[:24]
        with self._lock:
            self._signed[key] = f
        # Another host name, as the real storage CDN is: the token must not follow the redirect there.
        return f"{self.url.replace('127.0.0.1', 'localhost')}/storage/{f.id}/{f.name}?sig={key}&exp=3600"

    def signed(self, key: str) -> FakeFile | None:
        with self._lock:
            return self._signed.get(key)


_HASH = re.compile(r"^[0-9a-fA-F]+$")
_HASH_LENGTHS = {8, 10, 12, 64}


class _Handler(ServiceHandler):
    fake: ClassVar[FakeCivitai]

    def on_failure(self, failure: Failure) -> None:
        # Edge rate limits come from the CDN: an HTML-ish body, usually no Retry-After.
        self.send(failure.status, b"<html><body>Too Many Requests</body></html>", failure.headers, "text/html")

    def by_hash_batch(self) -> None:
        try:
            hashes = json.loads(self.seen.body or b"null")
        except ValueError:
            return self.refuse(400, "Invalid request body")
        if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
            return self.refuse(400, "Expected an array of hashes")
        if len(hashes) > MAX_BATCH:
            return self.refuse(400, f"Too many hashes: at most {MAX_BATCH}")
        out, seen_ids = [], set()
        for h in hashes:
            v, archived = self.fake.find_hash(h)
            if v is not None and not archived and v.id not in seen_ids:
                seen_ids.add(v.id)
                out.append(self.fake.version_json(v))
        self.json(out)

    def by_hash(self, h: str) -> None:
        if not _HASH.match(h) or len(h) not in _HASH_LENGTHS:
            return self.refuse(400, f"Invalid hash: {h}")
        v, archived = self.fake.find_hash(h)
        if v is None:
            return self.refuse(404, "Model not found")
        if archived:
            return self.refuse(404, "Missing model file")
        self.json(self.fake.version_json(v))

    def model_version(self, version_id: str) -> None:
        v = self.fake.version(int(version_id))
        if v is None:
            return self.refuse(404, f"No model version with id {version_id}")
        self.json(self.fake.version_json(v))

    def model(self, model_id: str) -> None:
        model = self.fake.models.get(int(model_id))
        if model is None:
            return self.refuse(404, f"No model with id {model_id}")
        self.json(self.fake.model_json(model))

    def download(self, version_id: str) -> None:
        fake, query = self.fake, self.query
        v = fake.version(int(version_id))
        if v is None or v.model is None or v.model.archived or not v.files:
            return self.refuse(404, "Model not found")
        if v.early_access_deadline:
            return self.json({"error": "Early Access", "deadline": v.early_access_deadline,
                              "message": "This asset is in Early Access and you need to purchase it"}, 403)
        want_type = (query.get("type") or [None])[0]
        want_format = (query.get("format") or [None])[0]
        chosen = None
        for f in v.files:
            if (want_type is None and f.primary) or (f.type == want_type and want_format in (None, f.format)):
                chosen = f
                break
        if chosen is None:
            return self.refuse(404, "File not found")
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip() or (query.get("token") or [""])[0]
        if chosen.gated and token != fake.token:
            if fake.json_401 and "application/json" in (self.headers.get("Accept") or ""):
                return self.refuse(401, "Unauthorized")
            return self.send(302, b"", {"Location": f"{fake.url}/login?returnUrl=/api/download/models/{version_id}"},
                             ctype="text/plain")
        self.send(302, b"", {"Location": fake.signed_url(chosen)}, ctype="text/plain")

    def storage(self, file_id: str) -> None:
        f = self.fake.signed((self.query.get("sig") or [""])[0])
        if f is None or f.id != int(file_id):
            return self.send(403, b"<Error><Code>AccessDenied</Code></Error>", ctype="application/xml")
        data = f.served if f.served is not None else f.data
        self.send_file(data, {"Content-Disposition": f'attachment; filename="{f.name}"'}, key=f.id)

    def login(self) -> None:
        self.send(200, b"<!DOCTYPE html><html><head><title>Sign in | Civitai</title></head>"
                       b"<body>Sign in to continue</body></html>", ctype="text/html; charset=utf-8")

    def image(self, name: str) -> None:
        for model in self.fake.models.values():
            for v in model.versions:
                for img in v.images:
                    if img.name == name:
                        return self.send(200, img.data, ctype=f"image/{img.ext}")
        self.send(404, b"not found", ctype="text/plain")

    routes: ClassVar[list[Route]] = [
        route("POST", r"/api/v1/model-versions/by-hash", by_hash_batch),
        route("GET HEAD", r"/api/v1/model-versions/by-hash/([^/]+)", by_hash),
        route("GET HEAD", r"/api/v1/model-versions/(\d+)", model_version),
        route("GET HEAD", r"/api/v1/models/(\d+)", model),
        route("GET HEAD", r"/api/download/models/(\d+)", download),
        route("GET HEAD", r"/storage/(\d+)/[^/]+", storage),
        route("GET HEAD", r"/login", login),
        route("GET HEAD", r"/images/([^/]+)", image),
    ]


FakeCivitai.handler = _Handler
