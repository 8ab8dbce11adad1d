"""The mapping editor: an install's map as a draft with undo, rules proposed by dragging models onto
a folder, the plan's difference from the saved map, and saving (as the map or a version variant)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pumasfs.base.errors import PumasError
from pumasfs.planning.installs import AppInstall
from pumasfs.planning.map_schema import TranslationMap
from pumasfs.ui.context import Ui, error_page, in_thread, page, ui_of
from pumasfs.ui.pages.library import browse_query
from pumasfs.usecases import map_editing as me
from pumasfs.usecases.browse import BrowsePage, BrowseQuery, browse_models
from pumasfs.usecases.workspace import Workspace


def editor_ctx(ui: Ui, ws: Workspace, name: str) -> dict[str, Any]:
    from pumasfs.planning.installs import get_app
    from pumasfs.planning.map_selection import select_map
    from pumasfs.planning.model_folders import discover_model_folders

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


@dataclass
class Edit:
    """What one editor action works on: the install's draft stack (last = current) and the posted form."""

    ui: Ui
    ws: Workspace
    name: str
    install: AppInstall
    stack: list[TranslationMap]
    form: FormData

    @property
    def draft(self) -> TranslationMap:
        return self.stack[-1]

    def text(self, key: str, default: str = "") -> str:
        return str(self.form.get(key, default))

    def criteria(self, proposal: me.Proposal) -> list[str]:
        """The criteria the user ticked, of those the proposal offers."""
        return [str(k) for k in self.form.getlist("crit") if str(k) in proposal.criteria]

    def index(self) -> int:
        return int(self.text("index", "-1"))


# An action returns the new draft (pushed on the undo stack), or None when the draft stays.
Action = Callable[[Edit], TranslationMap | None]


def _propose(e: Edit) -> None:
    ids = [i for i in e.text("model_ids").split("\n") if i]
    records = list(e.ws.library.index.records())
    e.ui.proposals[e.name] = me.propose_rule(records, ids, e.text("target"), priority=me.top_priority(e.draft))


def _accept(e: Edit) -> TranslationMap:
    proposal = e.ui.proposals.get(e.name)
    if proposal is None:
        raise PumasError("no rule proposed: drag models onto a folder first")
    rule = me.make_rule(str(e.form.get("rule_name") or proposal.rule.name), str(e.form.get("target") or proposal.target),
                        {k: proposal.criteria[k] for k in e.criteria(proposal)}, me.top_priority(e.draft))
    e.ui.proposals.pop(e.name, None)
    return me.with_rule(e.draft, rule)


def _narrow(e: Edit) -> None:
    """The user ticked criteria: show what the narrower rule catches."""
    proposal = e.ui.proposals.get(e.name)
    if proposal is None:
        return
    proposal.chosen = e.criteria(proposal)
    proposal.target = str(e.form.get("target") or proposal.target)
    proposal.rule = me.make_rule(proposal.rule.name, proposal.target,
                                 {k: proposal.criteria[k] for k in proposal.chosen}, proposal.rule.priority)
    proposal.catches = me.catches(proposal.rule, list(e.ws.library.index.records()), exclude=set(proposal.selection))


def _drop_proposal(e: Edit) -> None:
    e.ui.proposals.pop(e.name, None)


def _edit(e: Edit) -> TranslationMap:
    try:
        priority = int(e.text("priority", "0"))
    except ValueError:
        raise PumasError("priority must be a whole number") from None
    return me.edit_rule(e.draft, e.index(), target=e.text("target"), priority=priority)


def _undo(e: Edit) -> None:
    if len(e.stack) > 1:
        e.stack.pop()


def _revert(e: Edit) -> TranslationMap:
    return me.default_map_for(e.ws, e.install).model_copy(update={"install": e.draft.install})


def _discard(e: Edit) -> None:
    e.ui.drafts.pop(e.name, None)


def _save(e: Edit) -> None:
    as_variant = e.form.get("mode") == "variant"
    variant = e.text("variant").strip() if as_variant else None
    if as_variant and not variant:
        raise PumasError("name the variant to save as")
    path = me.save_map(e.ws, e.install, e.draft, as_variant=variant,
                       version_range=e.text("version_range", "*").strip() or "*")
    e.ui.drafts.pop(e.name, None)
    e.ui.saved_notes[e.name] = f"saved {path}; `pumas materialize {e.name}` applies it"


ACTIONS: dict[str, Action] = {
    "propose": _propose,
    "accept": _accept,
    "narrow": _narrow,
    "drop-proposal": _drop_proposal,
    "up": lambda e: me.reorder(e.draft, e.index(), -1),
    "down": lambda e: me.reorder(e.draft, e.index(), +1),
    "remove": lambda e: me.remove_rule(e.draft, e.index()),
    "edit": _edit,
    "undo": _undo,
    "revert": _revert,
    "discard": _discard,
    "save": _save,
}


async def map_action(request: Request) -> Response:
    from pumasfs.planning.installs import get_app

    ui = ui_of(request)
    name, action = request.path_params["name"], ACTIONS.get(request.path_params["action"])
    if action is None:
        return Response("unknown action", status_code=404)
    form = await request.form()

    def run() -> Response:
        with ui.workspace() as ws:
            install = get_app(ws.layout, name)
            if name not in ui.drafts:
                editor_ctx(ui, ws, name)
            stack = ui.drafts[name]
            new = action(Edit(ui, ws, name, install, stack, form))
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
