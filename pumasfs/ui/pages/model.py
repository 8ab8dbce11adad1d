"""One model's page: every field, its files and links, related hub files; edit, overrides, unpin, delete."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from pumasfs.base.errors import PumasError
from pumasfs.ui import present
from pumasfs.ui.context import error_page, error_response, in_thread, page, ui_of
from pumasfs.usecases import library as library_uc
from pumasfs.usecases.workspace import Workspace

EDIT_FIELDS = ("official_name", "tags", "trigger_words", "notes", "family", "subtype", "base_model")
LIST_EDIT_FIELDS = ("tags", "trigger_words")


def vocabulary(ws: Workspace) -> dict[str, list[str]]:
    """Values the edit form suggests: what pumas knows, plus what the library already holds."""
    from pumasfs.store.metadata import known_vocabulary

    known = known_vocabulary()
    index = ws.library.index
    return {key: sorted(set(known.get(key, set())) | set(index.distinct(key))) for key in ("model_type", "subtype", "family")}


def model_page(request: Request) -> Response:
    ref = request.path_params["model_id"]
    try:
        with ui_of(request).workspace() as ws:
            details = library_uc.show_model(ws, ref)
            suggestions = vocabulary(ws)
    except PumasError as e:
        return error_page(request, e)
    from pumasfs.hub import trust_badge
    from pumasfs.hub.badge import badge_label, civitai_badge

    rec, meta = details.record, details.meta
    civ = civitai_badge(meta)
    ctx = {
        "meta": meta, "rec": rec, "links": details.links, "trust": trust_badge(meta), "vocabulary": suggestions,
        "civitai_badge": civ, "civitai_label": badge_label(civ) if civ else None,
        "civitai": getattr(meta, "civitai", None),
        "rows": present.field_rows(meta), "evidence": (meta.identification or {}).get("evidence") or [],
        "ident_warnings": (meta.identification or {}).get("warnings") or [],
        "hub_match": (meta.model_extra or {}).get("hub_match"),
        "pins": meta.pins,
    }
    return page(request, "model.html", ctx)


def related(request: Request) -> Response:
    try:
        with ui_of(request).workspace() as ws:
            details = library_uc.show_model(ws, request.path_params["model_id"], related=True)
    except PumasError as e:
        return error_response(e)
    return page(request, "_related.html", {"files": details.related or [], "error": details.related_error,
                                           "meta": details.meta})


def preview(request: Request) -> Response:
    with ui_of(request).workspace() as ws:
        lib = ws.library
        try:
            model_id = lib.resolve_id(request.path_params["model_id"])
            meta = lib.get(model_id)
            folder = lib.model_dir(model_id)
        except PumasError:
            return Response(status_code=404)
    if not meta.preview_image:
        return Response(status_code=404)
    path = (folder / meta.preview_image).resolve()
    if folder not in path.parents or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, headers={"cache-control": "private, max-age=300"})


async def edit(request: Request) -> Response:
    form = await request.form()
    ref = request.path_params["model_id"]

    def run() -> Response:
        with ui_of(request).workspace() as ws:
            lib = ws.library
            current = lib.get(lib.resolve_id(ref))
            changes: dict[str, Any] = {}
            for key in EDIT_FIELDS:
                if key not in form:
                    continue
                raw = str(form[key]).strip()
                value: Any = [t.strip() for t in raw.split(",") if t.strip()] if key in LIST_EDIT_FIELDS else (raw or None)
                if key == "notes":
                    value = raw
                # Only what the user changed becomes user-owned; the rest stays open to enrichment.
                if value != getattr(current, key):
                    changes[key] = value
            if not changes:
                return Response("nothing changed", headers={"HX-Refresh": "true"})
            result = library_uc.edit_model(ws, current.model_id, changes, force=form.get("force") == "on")
        return Response("saved", headers={"HX-Redirect": f"/model/{result.meta.model_id}"})

    return await in_thread(run)


async def overrides(request: Request) -> Response:
    from pumasfs.usecases import map_editing as me

    form = await request.form()
    ref = request.path_params["model_id"]
    apps_ = [str(a) for a in form.getlist("app")]
    specs = [str(v) for v in form.getlist("range")]
    ranges = {a: r for a, r in zip(apps_, specs, strict=False) if a.strip() and r.strip()}

    def run() -> Response:
        with ui_of(request).workspace() as ws:
            me.set_version_ranges(ws, ref, ranges)
            model_id = ws.library.resolve_id(ref)
        return Response("saved", headers={"HX-Redirect": f"/model/{model_id}"})

    return await in_thread(run)


def delete(request: Request) -> Response:
    from pumasfs.usecases import remove as remove_uc

    ref = request.path_params["model_id"]
    try:
        with ui_of(request).workspace() as ws:
            result = remove_uc.remove_models(ws, [ref])
    except PumasError as e:
        return error_response(e)
    if result.failed:
        f = result.failed[0]
        return Response(f.message, status_code=409 if f.exit_code == 3 else 400,
                        media_type="text/plain; charset=utf-8")
    ids = [r.model_id for r in result.removed]
    return Response(f"moved {', '.join(ids)} to the trash", headers={"HX-Redirect": "/?removed=" + ids[0]})


async def unpin(request: Request) -> Response:
    from pumasfs.usecases import pins as pins_uc

    form = await request.form()
    ref = request.path_params["model_id"]
    app_name, path = str(form.get("app", "")), str(form.get("path", ""))

    def run() -> Response:
        with ui_of(request).workspace() as ws:
            meta, gone, _ = pins_uc.unpin_model(ws, ref, app_name, path)
        return Response(f"unpinned {len(gone)}", headers={
            "HX-Redirect": f"/model/{meta.model_id}?unpinned={app_name}:{path}"})

    return await in_thread(run)


ROUTES = [
    Route("/model/{model_id:path}/related", related),
    Route("/model/{model_id:path}/edit", edit, methods=["POST"]),
    Route("/model/{model_id:path}/delete", delete, methods=["POST"]),
    Route("/model/{model_id:path}/overrides", overrides, methods=["POST"]),
    Route("/model/{model_id:path}/unpin", unpin, methods=["POST"]),
    Route("/model/{model_id:path}", model_page),
    Route("/preview/{model_id:path}", preview),
]
