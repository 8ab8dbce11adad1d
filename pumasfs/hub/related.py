"""`pumas show ID --related`: the matched repo's other files, and which ones we already have."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from pumasfs.hub import names
from pumasfs.hub.cache import HubCache, HubFile
from pumasfs.hub.client import Budget, HubClient
from pumasfs.hub.errors import HubRefused, HubUnavailable
from pumasfs.hub.lookup import Lookup
from pumasfs.hub.settings import HubSettings
from pumasfs.store.library import Library
from pumasfs.store.metadata import ModelMetadata

RELATED_DEADLINE_S = 8.0
_CONFIG_EXT = (".json", ".yaml", ".yml", ".txt", ".model", ".tiktoken", ".py", ".md")


class RelatedFile(BaseModel):
    path: str
    size: int | None = None
    sha256: str | None = None
    kind: str = "other"  # shard | quantisation | vae | weights | config | other
    in_library: bool = False
    library_models: list[str] = Field(default_factory=list)


def _kind(path: str, own_names: set[str]) -> str:
    low = path.lower()
    base = low.rsplit("/", 1)[-1]
    own_shard_bases = {names.shard_base(n) for n in own_names} - {None}
    if names.shard_base(base) is not None and names.shard_base(base) in own_shard_bases:
        return "shard"
    if "vae" in low and not base.endswith(_CONFIG_EXT):
        return "vae"
    if base.endswith(_CONFIG_EXT) or base.startswith((".git", "tokenizer")):
        return "config"
    if base.endswith(".gguf") and any(names.comparable(base) == names.comparable(n) for n in own_names):
        return "quantisation"
    if base.endswith(names.EXTENSIONS):
        return "weights"
    return "other"


def related_files(
    library: Library, meta: ModelMetadata, *, deadline_s: float = RELATED_DEADLINE_S
) -> list[RelatedFile]:
    """Files of the model's matched repo that are not this model's own files.

    Empty when the model has no matched repo.  Uses the cached file list (24 h)
    when there is one, else asks the hub; raises HubUnavailable (a PumasError)
    when neither works, so ``show`` can say why instead of printing nothing.
    """
    if not meta.hub_repo:
        return []
    settings = HubSettings.from_env()
    cache = HubCache(library.layout, endpoint=settings.endpoint)
    revision = meta.hub_revision or "main"
    snap = cache.get_repo(meta.hub_repo, revision)
    if snap is None:
        client = HubClient(settings, budget=Budget(2), deadline=time.monotonic() + deadline_s)
        try:
            snap = Lookup(client, cache).snapshot(meta.hub_repo, revision)
        except HubRefused as e:
            raise HubUnavailable(f"cannot list {meta.hub_repo}: {e.message}") from None
        except HubUnavailable as e:
            stale = cache.get_repo(meta.hub_repo, revision, stale_ok=True)
            if stale is None:
                raise HubUnavailable(f"cannot list {meta.hub_repo}'s files: {e.message}") from None
            snap = stale
    own_sha = {f.sha256 for f in meta.files if f.sha256}
    own_names = {f.original_name.rsplit("/", 1)[-1] for f in meta.files} | {f.name.rsplit("/", 1)[-1] for f in meta.files}
    matched_paths = set()
    hub_match = getattr(meta, "hub_match", None)
    if isinstance(hub_match, dict) and isinstance(hub_match.get("files"), dict):
        matched_paths = set(hub_match["files"].values())
    out = []
    for f in snap.files:
        if f.sha256 and f.sha256 in own_sha or f.path in matched_paths or f.path == ".gitattributes":
            continue
        out.append(_related(library, f, own_names))
    return out


def _related(library: Library, f: HubFile, own_names: set[str]) -> RelatedFile:
    models = [mid for mid, _ in library.index.find_sha256(f.sha256)] if f.sha256 else []
    return RelatedFile(
        path=f.path, size=f.size, sha256=f.sha256, kind=_kind(f.path, own_names),
        in_library=bool(models), library_models=sorted(set(models)),
    )
