"""The trash page (`pumas trash`): what removals set aside, restore, empty."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pumasfs.base.errors import PumasError
from pumasfs.ui.context import error_response, in_thread, page, ui_of
from pumasfs.usecases import trash as trash_uc


def trash_page(request: Request) -> Response:
    with ui_of(request).workspace() as ws:
        items = trash_uc.list_trash(ws)
        keep = trash_uc.load_settings(ws.layout).keep_days
    return page(request, "trash.html", {"items": list(reversed(items)), "keep_days": keep,
                                        "total": sum(i.size_bytes for i in items)})


def trash_restore(request: Request) -> Response:
    try:
        with ui_of(request).workspace() as ws:
            restored = trash_uc.restore(ws, request.path_params["item_id"])
    except PumasError as e:
        return error_response(e)
    text = "\n".join([f"restored {restored.model_id}", *restored.warnings])
    return Response(text, headers={"HX-Redirect": "/trash?restored=" + restored.model_id})


async def trash_empty(request: Request) -> Response:
    form = await request.form()
    age = str(form.get("older_than", "")).strip()

    def run() -> Response:
        with ui_of(request).workspace() as ws:
            result = trash_uc.empty_trash(ws, older_than_s=trash_uc.parse_age(age) if age else None)
        return Response(f"deleted {len(result.deleted)} model(s), kept {result.kept}",
                        headers={"HX-Redirect": f"/trash?emptied={len(result.deleted)}"})

    return await in_thread(run)


ROUTES = [
    Route("/trash", trash_page),
    Route("/trash/empty", trash_empty, methods=["POST"]),
    Route("/trash/{item_id}/restore", trash_restore, methods=["POST"]),
]
