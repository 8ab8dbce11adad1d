"""CivitAI's JSON, as pydantic models that keep every field they do not name.

Only what pumas reads is typed; the rest survives (``extra="allow"``) so that
the ``.civitai.info`` sidecar is the version JSON exactly as CivitAI sent it,
which is what Civitai Helper writes and what A1111/Forge extensions read.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class FileMetadata(_Open):
    format: str | None = None
    size: str | None = None
    fp: str | None = None


class CivFile(_Open):
    id: int | None = None
    name: str = ""
    type: str | None = None  # Model, Pruned Model, VAE, Text Encoder, ...
    sizeKB: float | None = None
    metadata: FileMetadata = Field(default_factory=FileMetadata)
    hashes: dict[str, str] = Field(default_factory=dict)
    primary: bool | None = None
    downloadUrl: str | None = None

    @property
    def sha256(self) -> str | None:
        for k, v in self.hashes.items():
            if k.upper() == "SHA256" and v:
                return v.lower()
        return None

    @property
    def size_bytes(self) -> int | None:
        return round(self.sizeKB * 1024) if self.sizeKB is not None else None


class CivImage(_Open):
    url: str = ""
    nsfwLevel: int = 0
    width: int | None = None
    height: int | None = None
    type: str = "image"


class VersionModel(_Open):
    name: str = ""
    type: str | None = None
    nsfw: bool = False
    poi: bool = False


class CivVersion(_Open):
    id: int
    modelId: int | None = None
    name: str = ""
    description: str | None = None
    baseModel: str | None = None
    baseModelType: str | None = None
    air: str | None = None
    nsfwLevel: int | None = None
    createdAt: str | None = None
    publishedAt: str | None = None
    trainedWords: list[str] = Field(default_factory=list)
    model: VersionModel | None = None
    files: list[CivFile] = Field(default_factory=list)
    images: list[CivImage] = Field(default_factory=list)
    downloadUrl: str | None = None

    def file_with_sha256(self, sha256: str) -> CivFile | None:
        for f in self.files:
            if f.sha256 == sha256.lower():
                return f
        return None

    def primary_file(self) -> CivFile | None:
        for f in self.files:
            if f.primary:
                return f
        return self.files[0] if self.files else None

    def raw(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class Creator(_Open):
    username: str | None = None


class CivModel(_Open):
    id: int
    name: str = ""
    description: str | None = None
    type: str | None = None
    nsfw: bool = False
    tags: list[str] = Field(default_factory=list)
    creator: Creator | None = None
    modelVersions: list[CivVersion] = Field(default_factory=list)
