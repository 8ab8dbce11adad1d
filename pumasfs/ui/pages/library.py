"""The library page: the filtered, sorted, paged grid or list of models (and its JSON twin)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pumasfs.ui.context import page, ui_of
from pumasfs.usecases.browse import SORTS, TRUSTS, BrowseQuery, browse_models

FILTERS = ("q", "type", "subtype", "family", "base", "tag", "trust", "app")


def browse_query(request: Request) -> tuple[BrowseQuery, dict[str, str]]:
    """The query a page's URL asks for, and the parameters it set (to keep them in links)."""
    p = request.query_params
    raw = {k: p.get(k, "") for k in (*FILTERS, "sort", "view")}
    try:
        page_no = max(1, int(p.get("page", "1")))
    except ValueError:
        page_no = 1
    sort = raw["sort"] if raw["sort"] in SORTS else "name"
    q = BrowseQuery(
        search=raw["q"] or None, model_type=raw["type"] or None, subtype=raw["subtype"] or None,
        family=raw["family"] or None, base_model=raw["base"] or None, tag=raw["tag"] or None,
        trust=raw["trust"] if raw["trust"] in TRUSTS else None, app=raw["app"] or None, sort=sort, page=page_no,
        page_size=48 if raw["view"] != "list" else 100,
    )
    state = {k: v for k, v in raw.items() if v}
    return q, state


def library(request: Request) -> Response:
    q, state = browse_query(request)
    # htmx asks for the results alone when a filter changes: the facets stay as they are.
    results_only = request.headers.get("HX-Target") == "results"
    with ui_of(request).workspace() as ws:
        result = browse_models(ws, q, facets="HX-Request" not in request.headers or not results_only)
    filtered = any(state.get(k) for k in FILTERS)
    ctx = {"result": result, "state": state, "view": state.get("view", "grid"), "filtered": filtered}
    return page(request, "_results.html" if results_only else "library.html", ctx)


def api_models(request: Request) -> Response:
    q, _ = browse_query(request)
    with ui_of(request).workspace() as ws:
        result = browse_models(ws, q, facets=False)
    return JSONResponse({
        "total": result.total, "page": result.page, "pages": result.pages,
        "items": [{"model_id": c.meta.model_id, "name": c.meta.official_name, "trust": c.trust,
                   "apps": c.app_count, "size_bytes": c.meta.size_bytes} for c in result.items],
    })


ROUTES = [
    Route("/", library),
    Route("/api/models", api_models),
]
