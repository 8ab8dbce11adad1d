"""`pumas link MODEL civitai:VERSION`: the user says which CivitAI version a file is.

For files whose hash CivitAI does not know (pruned, converted, re-saved):
the version's data is applied as for a hash match, with ``trust: "user"``,
and hash lookups never replace it afterwards (only another ``pumas link``
does).
"""

from __future__ import annotations

from pumasfs.base.errors import NotFound, PumasError
from pumasfs.hub.civitai.api import CivModel, CivVersion
from pumasfs.hub.civitai.cache import CivitaiCache
from pumasfs.hub.civitai.client import CivitaiClient
from pumasfs.hub.civitai.enrich import CivitaiOutcome, Found, apply_found, fetch_preview, model_of
from pumasfs.hub.civitai.refs import CivRef
from pumasfs.hub.civitai.settings import CivitaiSettings
from pumasfs.hub.civitai.sidecars import wants_preview
from pumasfs.hub.errors import HubNotFound, HubUnavailable
from pumasfs.store.library import Library


def resolve_version(client: CivitaiClient, cache: CivitaiCache, ref: CivRef) -> tuple[CivVersion, CivModel | None]:
    """The version a reference names (a model alone: its newest version), and its model."""
    try:
        if ref.version_id is not None:
            v = client.version(ref.version_id)
            cache.put_version(v)
            model = model_of(client, cache, v.modelId) if v.modelId is not None else None
            return v, model
        assert ref.model_id is not None
        model = client.model(ref.model_id)
        cache.put_model(model)
        if not model.modelVersions:
            raise PumasError(f"CivitAI model {ref.model_id} has no versions")
        v = client.version(model.modelVersions[0].id)
        cache.put_version(v)
        return v, model
    except HubNotFound:
        raise NotFound(f"{ref.text()}: no such model version on CivitAI") from None
    except HubUnavailable as e:
        raise PumasError(f"cannot reach CivitAI: {e.message}") from None


def link_model(
    library: Library, model_id: str, ref: CivRef, settings: CivitaiSettings, *, dry_run: bool = False
) -> CivitaiOutcome:
    if settings.offline:
        raise PumasError("offline mode (CIVITAI_OFFLINE or HF_HUB_OFFLINE is set): cannot ask CivitAI")
    meta = library.get(model_id)
    client = CivitaiClient(settings)
    cache = CivitaiCache(library.layout, settings.endpoint)
    v, model = resolve_version(client, cache, ref)
    preview = None
    if not dry_run and settings.previews and wants_preview(meta):
        try:
            preview = fetch_preview(client, v, settings.nsfw_max)
        except HubUnavailable:
            preview = None  # the link stands; the preview comes with a later `pumas link`
    return apply_found(library, model_id, Found(v, model, preview), settings, dry_run=dry_run, trust="user")
