"""The mapping editor: an install's map as a draft with undo, rules proposed by dragging models onto
a folder, the plan's difference from the saved map, and saving (as the map or a version variant)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import PumasError
from ...usecases.browse import BrowsePage, BrowseQuery, browse_models
from ...usecases.workspace import Workspace
from ..context import Ui, error_page, in_thread, page, ui_of
from .library import browse_query


def editor_ctx(ui: Ui, ws: Workspace, name: str) -> dict[str, Any]:
    from ...apps import discover_model_folders, get_app
    from ...maps import select_map
    from ...usecases import map_editing as me

    install = get_app(ws.layout, name)
    saved = select_map(ws.layout, install)
    stack = ui.drafts.setdefault(name, [saved.map])
    draft = stack[-1]
    old_plan, new_plan = me.plan_for(ws, install, saved.map), me.plan_for(ws, install, draft)
    tree: dict[str, int] = {}
    for path in new_plan.entries:
        folder = path.rsplit("/", 1)[0] if "/" in path else "."
        tree[folder] = tree.get(folder, 0) + 1
    return {
        "install": install, "saved": saved, "draft": draft, "rules": draft.ordered_rules(),
        "diff": me.diff_plans(old_plan, new_plan), "plan": new_plan, "tree": dict(sorted(tree.items())),
        "targets": discover_model_folders(install), "proposal": ui.proposals.get(name),
        "can_undo": len(stack) > 1, "changed": len(stack) > 1, "note": ui.saved_notes.pop(name, None),
    }


def models_to_drag(ws: Workspace, request: Request, *, facets: bool) -> tuple[BrowsePage, dict[str, str]]:
    """The models the editor lists beside the map: the library page's search, type and family filters."""
    q, state = browse_query(request)
    models = browse_models(ws, BrowseQuery(search=q.search, subtype=q.subtype, family=q.family, page_size=100),
                           facets=facets)
    return models, state


def map_page(request: Request) -> Response:
    ui = ui_of(request)
    name = request.path_params["name"]
    try:
        with ui.workspace() as ws:
            ctx = editor_ctx(ui, ws, name)
            models, state = models_to_drag(ws, request, facets=True)
    except PumasError as e:
        return error_page(request, e)
    return page(request, "map.html", {**ctx, "models": models, "state": state})


def map_models(request: Request) -> Response:
    with ui_of(request).workspace() as ws:
        models, state = models_to_drag(ws, request, facets=False)
    return page(request, "_map_models.html", {"models": models, "state": state})


async def map_action(request: Request) -> Response:
    from ...apps import get_app
    from ...usecases import map_editing as me

    ui = ui_of(request)
    name, action = request.path_params["name"], request.path_params["action"]
    form = await request.form()

    def run() -> Response:
        with ui.workspace() as ws:
            install = get_app(ws.layout, name)
            if name not in ui.drafts:
                editor_ctx(ui, ws, name)
            stack = ui.drafts[name]
            draft = stack[-1]
            new = None
            if action == "propose":
                ids = [i for i in str(form.get("model_ids", "")).split("\n") if i]
                records = list(ws.library.index.records())
                ui.proposals[name] = me.propose_rule(records, ids, str(form.get("target", "")),
                                                     priority=me.top_priority(draft))
            elif action == "accept":
                proposal = ui.proposals.get(name)
                if proposal is None:
                    raise PumasError("no rule proposed: drag models onto a folder first")
                keys = [str(k) for k in form.getlist("crit") if str(k) in proposal.criteria]
                rule = me.make_rule(str(form.get("rule_name") or proposal.rule.name),
                                    str(form.get("target") or proposal.target),
                                    {k: proposal.criteria[k] for k in keys}, me.top_priority(draft))
                new = me.with_rule(draft, rule)
                ui.proposals.pop(name, None)
            elif action == "narrow":  # the user ticked criteria: show what the narrower rule catches
                proposal = ui.proposals.get(name)
                if proposal is not None:
                    keys = [str(k) for k in form.getlist("crit") if str(k) in proposal.criteria]
                    proposal.chosen = keys
                    proposal.target = str(form.get("target") or proposal.target)
                    proposal.rule = me.make_rule(proposal.rule.name, proposal.target,
                                                 {k: proposal.criteria[k] for k in keys}, proposal.rule.priority)
                    proposal.catches = me.catches(proposal.rule, list(ws.library.index.records()),
                                                  exclude=set(proposal.selection))
            elif action == "drop-proposal":
                ui.proposals.pop(name, None)
            elif action in ("up", "down", "remove", "edit"):
                i = int(str(form.get("index", "-1")))
                if action == "up":
                    new = me.reorder(draft, i, -1)
                elif action == "down":
                    new = me.reorder(draft, i, +1)
                elif action == "remove":
                    new = me.remove_rule(draft, i)
                else:
                    try:
                        priority = int(str(form.get("priority", "0")))
                    except ValueError:
                        raise PumasError("priority must be a whole number") from None
                    new = me.edit_rule(draft, i, target=str(form.get("target", "")), priority=priority)
            elif action == "undo":
                if len(stack) > 1:
                    stack.pop()
            elif action == "revert":
                new = me.default_map_for(ws, install).model_copy(update={"install": draft.install})
            elif action == "discard":
                ui.drafts.pop(name, None)
            elif action == "save":
                variant = str(form.get("variant", "")).strip() if form.get("mode") == "variant" else None
                if form.get("mode") == "variant" and not variant:
                    raise PumasError("name the variant to save as")
                path = me.save_map(ws, install, draft, as_variant=variant,
                                   version_range=str(form.get("version_range", "*")).strip() or "*")
                ui.drafts.pop(name, None)
                ui.saved_notes[name] = f"saved {path}; `pumas materialize {name}` applies it"
            else:
                return Response("unknown action", status_code=404)
            if new is not None:
                stack.append(new)
            ctx = editor_ctx(ui, ws, name)
        return page(request, "_editor.html", ctx)

    return await in_thread(run)


ROUTES = [
    Route("/apps/{name}/map", map_page),
    Route("/apps/{name}/map/models", map_models),
    Route("/apps/{name}/map/{action}", map_action, methods=["POST"]),
]
