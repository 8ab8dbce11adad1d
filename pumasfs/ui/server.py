"""The `pumas ui` web application: routes that call use cases and render pages.

Every handler does three things only: read the request, call one use case
(``pumasfs.usecases``), render the result.  Security lives in
:mod:`.security` around the whole app; long operations run as jobs in
:mod:`.activity`; dropped files stream through :mod:`.uploads`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..errors import NotFound, PumasError
from ..usecases import hub as hub_uc
from ..usecases import imports as imports_uc
from ..usecases import library as library_uc
from ..usecases import ui_support
from ..usecases.browse import SORTS, TRUSTS, BrowseQuery, browse_models
from ..usecases.workspace import Workspace
from . import present
from .activity import Activity, Job, JobReporter
from .allowlist import Allowlist
from .security import Guard, SecurityMiddleware
from .uploads import CHUNK, FileWriter, Uploads

HERE = Path(__file__).parent
EDIT_FIELDS = ("official_name", "tags", "trigger_words", "notes", "family", "subtype", "base_model")
LIST_EDIT_FIELDS = ("tags", "trigger_words")


@dataclass
class UiConfig:
    root: Path
    guard: Guard
    allowed: list[Path]
    lookup_after_import: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class Ui:
    """The state of one server run: settings, jobs, open upload batches."""

    def __init__(self, config: UiConfig) -> None:
        self.config = config
        self.root = config.root
        ws = Workspace(config.root)
        self.layout = ws.layout
        _ = ws.library  # create the root's folders (and check it) before serving
        ws.close()
        self.activity = Activity()
        self.uploads = Uploads(self.layout)
        self.allowlist = Allowlist(config.allowed, config.root)
        # The mapping editor's drafts, per install: an undo stack (last = current) and the open proposal.
        self.drafts: dict[str, list[Any]] = {}
        self.proposals: dict[str, Any] = {}
        self.saved_notes: dict[str, str] = {}
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = self.templates.env
        env.filters.update(size=present.human_size, params=present.param_text, when=present.when, hue=present.hue)
        from ..hub.badge import badge_label, civitai_badge

        env.globals.update(csrf=config.guard.csrf, triggers=present.trigger_words, initials=present.initials,
                           query_url=present.query_url, civitai_badge=civitai_badge, badge_label=badge_label)

    @contextlib.contextmanager
    def workspace(self) -> Iterator[Workspace]:
        # One per request or job: each gets its own SQLite connections.
        ws = Workspace(self.root)
        try:
            yield ws
        finally:
            ws.close()

    def close(self) -> None:
        self.activity.close()
        self.uploads.close_all()


def _status(e: PumasError) -> int:
    return 404 if isinstance(e, NotFound) else 409 if e.exit_code == 3 else 400


def _error(e: PumasError) -> Response:
    # The same one line the CLI prints, without its "pumas: " prefix.
    return Response(e.message, status_code=_status(e), media_type="text/plain; charset=utf-8")


def _vocabulary(ws: Workspace) -> dict[str, list[str]]:
    """Values the edit form suggests: what pumas knows, plus what the library already holds."""
    from ..metadata import known_vocabulary

    known = known_vocabulary()
    index = ws.library.index
    return {key: sorted(set(known.get(key, set())) | set(index.distinct(key))) for key in ("model_type", "subtype", "family")}


def _query(request: Request) -> tuple[BrowseQuery, dict[str, str]]:
    p = request.query_params
    raw = {k: p.get(k, "") for k in ("q", "type", "subtype", "family", "base", "tag", "trust", "app", "sort", "view")}
    try:
        page = max(1, int(p.get("page", "1")))
    except ValueError:
        page = 1
    sort = raw["sort"] if raw["sort"] in SORTS else "name"
    q = BrowseQuery(
        search=raw["q"] or None, model_type=raw["type"] or None, subtype=raw["subtype"] or None,
        family=raw["family"] or None, base_model=raw["base"] or None, tag=raw["tag"] or None,
        trust=raw["trust"] if raw["trust"] in TRUSTS else None, app=raw["app"] or None, sort=sort, page=page,
        page_size=48 if raw["view"] != "list" else 100,
    )
    state = {k: v for k, v in raw.items() if v}
    return q, state


def build_app(config: UiConfig) -> Starlette:
    ui = Ui(config)
    T = ui.templates

    def page(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> Response:
        active = sum(1 for j in ui.activity.jobs.values() if j.active)
        return T.TemplateResponse(request, name, {"active_jobs": active, **ctx}, status_code=status)

    # -- library --

    def library(request: Request) -> Response:
        q, state = _query(request)
        with ui.workspace() as ws:
            result = browse_models(ws, q, facets="HX-Request" not in request.headers or
                                   request.headers.get("HX-Target") != "results")
        filtered = any(state.get(k) for k in ("q", "type", "subtype", "family", "base", "tag", "trust", "app"))
        ctx = {"result": result, "state": state, "view": state.get("view", "grid"), "filtered": filtered}
        if request.headers.get("HX-Target") == "results":
            return page(request, "_results.html", ctx)
        return page(request, "library.html", ctx)

    def api_models(request: Request) -> Response:
        q, _ = _query(request)
        with ui.workspace() as ws:
            result = browse_models(ws, q, facets=False)
        return JSONResponse({
            "total": result.total, "page": result.page, "pages": result.pages,
            "items": [{"model_id": c.meta.model_id, "name": c.meta.official_name, "trust": c.trust,
                       "apps": c.app_count, "size_bytes": c.meta.size_bytes} for c in result.items],
        })

    # -- one model --

    def model_page(request: Request) -> Response:
        ref = request.path_params["model_id"]
        try:
            with ui.workspace() as ws:
                details = library_uc.show_model(ws, ref)
                vocabulary = _vocabulary(ws)
        except PumasError as e:
            return page(request, "error.html", {"message": e.message}, status=_status(e))
        from ..hub import trust_badge
        from ..hub.badge import badge_label, civitai_badge

        rec, meta = details.record, details.meta
        civ = civitai_badge(meta)
        ctx = {
            "meta": meta, "rec": rec, "links": details.links, "trust": trust_badge(meta), "vocabulary": vocabulary,
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
            with ui.workspace() as ws:
                details = library_uc.show_model(ws, request.path_params["model_id"], related=True)
        except PumasError as e:
            return _error(e)
        return page(request, "_related.html", {"files": details.related or [], "error": details.related_error,
                                               "meta": details.meta})

    def preview(request: Request) -> Response:
        with ui.workspace() as ws:
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
            with ui.workspace() as ws:
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
            headers = {"HX-Redirect": f"/model/{result.meta.model_id}"}
            return Response("saved", headers=headers)

        try:
            return await anyio.to_thread.run_sync(run)
        except PumasError as e:
            return _error(e)

    async def overrides(request: Request) -> Response:
        from ..usecases import map_editing as me

        form = await request.form()
        ref = request.path_params["model_id"]
        apps_ = [str(a) for a in form.getlist("app")]
        specs = [str(v) for v in form.getlist("range")]
        ranges = {a: r for a, r in zip(apps_, specs, strict=False) if a.strip() and r.strip()}

        def run() -> Response:
            with ui.workspace() as ws:
                me.set_version_ranges(ws, ref, ranges)
                model_id = ws.library.resolve_id(ref)
            return Response("saved", headers={"HX-Redirect": f"/model/{model_id}"})

        try:
            return await anyio.to_thread.run_sync(run)
        except PumasError as e:
            return _error(e)

    def delete(request: Request) -> Response:
        from ..usecases import remove as remove_uc

        ref = request.path_params["model_id"]
        try:
            with ui.workspace() as ws:
                result = remove_uc.remove_models(ws, [ref])
        except PumasError as e:
            return _error(e)
        if result.failed:
            f = result.failed[0]
            return Response(f.message, status_code=409 if f.exit_code == 3 else 400,
                            media_type="text/plain; charset=utf-8")
        ids = [r.model_id for r in result.removed]
        return Response(f"moved {', '.join(ids)} to the trash", headers={"HX-Redirect": "/?removed=" + ids[0]})

    async def unpin(request: Request) -> Response:
        from ..usecases import pins as pins_uc

        form = await request.form()
        ref = request.path_params["model_id"]
        app_name, path = str(form.get("app", "")), str(form.get("path", ""))

        def run() -> Response:
            with ui.workspace() as ws:
                meta, gone, _ = pins_uc.unpin_model(ws, ref, app_name, path)
            return Response(f"unpinned {len(gone)}", headers={
                "HX-Redirect": f"/model/{meta.model_id}?unpinned={app_name}:{path}"})

        try:
            return await anyio.to_thread.run_sync(run)
        except PumasError as e:
            return _error(e)

    # -- the trash (`pumas trash`) --

    def trash_page(request: Request) -> Response:
        from ..usecases import trash as trash_uc

        with ui.workspace() as ws:
            items = trash_uc.list_trash(ws)
            keep = trash_uc.load_settings(ws.layout).keep_days
        return page(request, "trash.html", {"items": list(reversed(items)), "keep_days": keep,
                                            "total": sum(i.size_bytes for i in items)})

    def trash_restore(request: Request) -> Response:
        from ..usecases import trash as trash_uc

        try:
            with ui.workspace() as ws:
                restored = trash_uc.restore(ws, request.path_params["item_id"])
        except PumasError as e:
            return _error(e)
        text = "\n".join([f"restored {restored.model_id}", *restored.warnings])
        return Response(text, headers={"HX-Redirect": "/trash?restored=" + restored.model_id})

    async def trash_empty(request: Request) -> Response:
        from ..usecases import trash as trash_uc

        form = await request.form()
        age = str(form.get("older_than", "")).strip()

        def run() -> Response:
            with ui.workspace() as ws:
                result = trash_uc.empty_trash(ws, older_than_s=trash_uc.parse_age(age) if age else None)
            return Response(f"deleted {len(result.deleted)} model(s), kept {result.kept}",
                            headers={"HX-Redirect": f"/trash?emptied={len(result.deleted)}"})

        try:
            return await anyio.to_thread.run_sync(run)
        except PumasError as e:
            return _error(e)

    # -- import --

    def import_page(request: Request) -> Response:
        return page(request, "import.html", {"roots": ui.allowlist.roots})

    def browse_dir(request: Request) -> Response:
        raw = request.query_params.get("path") or None
        try:
            folder, entries = ui.allowlist.listing(raw)
        except PumasError as e:
            return page(request, "_folder.html", {"error": e.message, "folder": None, "entries": [], "parent": None})
        parent = ui.allowlist.parent_of(folder) if folder else None
        return page(request, "_folder.html", {"error": None, "folder": folder, "entries": entries, "parent": parent,
                                             "multiple_roots": len(ui.allowlist.roots) > 1})

    def _import_job(title: str, paths: list[Path], move: bool, on_finish: Any = None, detail: str = "") -> Job:
        def run(reporter: JobReporter) -> list[dict[str, Any]]:
            from ..importer import ImportOptions

            with ui.workspace() as ws:
                report = imports_uc.import_models(ws, paths, ImportOptions(move=move),
                                                  lookup=config.lookup_after_import, reporter=reporter)
            return [r.to_json() for r in report.results]

        return ui.activity.submit("import", title, run, on_finish=on_finish, detail=detail)

    async def import_path(request: Request) -> Response:
        form = await request.form()
        try:
            path = ui.allowlist.check(str(form.get("path", "")).strip())
        except PumasError as e:
            return _error(e)
        move = form.get("mode") == "move"
        job = _import_job(f"Import {path.name}" + (" (move)" if move else ""), [path], move, detail=str(path))
        return JSONResponse({"job": job.id})

    def open_batch(request: Request) -> Response:
        batch = ui.uploads.open()
        return JSONResponse({"batch": batch.id})

    async def upload_file(request: Request) -> Response:
        try:
            batch = ui.uploads.get(request.path_params["batch"])
            writer = await anyio.to_thread.run_sync(FileWriter, batch, request.query_params.get("name", ""))
        except PumasError as e:
            return _error(e)
        try:
            async for chunk in request.stream():
                if len(writer._buf) + len(chunk) >= CHUNK:
                    await anyio.to_thread.run_sync(writer.feed, chunk)
                else:
                    writer.feed(chunk)  # a memory append: no disk work on the event loop
            done = await anyio.to_thread.run_sync(writer.finish)
        except (ClientDisconnect, OSError, anyio.get_cancelled_exc_class()) as e:
            await anyio.to_thread.run_sync(writer.abort)
            if isinstance(e, OSError):
                from ..errors import os_error_text

                return Response(f"upload failed: {os_error_text(e)}", status_code=507)
            raise
        return JSONResponse({"name": done.name, "size": done.size, "sha256": done.sha256})

    def import_batch(request: Request) -> Response:
        try:
            batch = ui.uploads.get(request.path_params["batch"])
        except PumasError as e:
            return _error(e)
        if not batch.files:
            ui.uploads.close(batch.id)
            return Response("nothing was uploaded", status_code=400)
        batch.importing = True
        names = ", ".join(f.name for f in batch.files[:3]) + (f" and {len(batch.files) - 3} more" if len(batch.files) > 3 else "")
        uploaded = {f.name: f.sha256 for f in batch.files}

        def finish(job: Job) -> None:
            ui.uploads.close(batch.id)  # whatever the importer did not take goes: a failed import leaves nothing
            if isinstance(job.result, list):
                job.result = {"results": job.result, "uploaded": uploaded}

        job = _import_job(f"Import {names}", batch.top_level(), True, on_finish=finish, detail="dropped in the browser")
        job.kind = "upload"
        return JSONResponse({"job": job.id})

    def discard_batch(request: Request) -> Response:
        ui.uploads.close(request.path_params["batch"])
        return Response(status_code=204)

    # -- apps --

    def apps_page(request: Request) -> Response:
        from ..usecases import apps as apps_uc

        with ui.workspace() as ws:
            listing = apps_uc.list_apps(ws)
            rows = [(a, ui_support.app_links(ws, a.name)) for a in listing.apps]
        found = ui_support.find_installs(ui.allowlist.roots, [a.path for a in listing.apps])
        return page(request, "apps.html", {"rows": rows, "found": found, "roots": ui.allowlist.roots})

    async def add_app(request: Request) -> Response:
        from ..usecases import apps as apps_uc

        form = await request.form()

        def run() -> Response:
            path = ui.allowlist.check(str(form.get("path", "")).strip())
            kind = str(form.get("kind", "comfyui")).strip() or "comfyui"
            name = str(form.get("name", "")).strip() or None
            with ui.workspace() as ws:
                added = apps_uc.add_app(ws, kind, path, name=name)
            return Response("\n".join([f"added {added.install.name}", *added.warnings]),
                            headers={"HX-Redirect": f"/apps/{added.install.name}"})

        try:
            return await anyio.to_thread.run_sync(run)
        except PumasError as e:
            return _error(e)

    def app_page(request: Request) -> Response:
        from ..usecases import apps as apps_uc

        name = request.path_params["name"]
        try:
            with ui.workspace() as ws:
                details = apps_uc.show_app(ws, name)
                links = ui_support.app_links(ws, name)
                fs = ui_support.filesystems(ws, details.install)
                unmanaged = ui_support.unmanaged_files(ws, details.install)
                try:
                    preview, plan_error = ui_support.preview_plan(ws, name), None
                except PumasError as e:
                    preview, plan_error = None, e.message
        except PumasError as e:
            return page(request, "error.html", {"message": e.message}, status=_status(e))
        planned = {f: len(v) for f, v in preview.folders.items()} if preview else {}
        folders = sorted(set(details.discovered_folders) | set(planned) | set(links.per_folder))
        views = [v for v in _views() if v.get("app") == name]
        return page(request, "app.html", {"d": details, "links": links, "preview": preview, "plan_error": plan_error,
                                          "planned": planned, "folders": folders, "views": views, "fs": fs,
                                          "unmanaged": unmanaged,
                                          "roots": ui.allowlist.roots})

    def app_materialize(request: Request) -> Response:
        from ..usecases import sync as sync_uc

        name = request.path_params["name"]
        dry_run = request.query_params.get("dry_run") == "1"
        try:
            with ui.workspace() as ws:
                reports = sync_uc.materialize(ws, name, dry_run=dry_run)
        except PumasError as e:
            return _error(e)
        return page(request, "_sync_report.html", {"reports": reports, "dry_run": dry_run, "name": name})

    async def app_adopt(request: Request) -> Response:
        from ..usecases import adopt as adopt_uc

        name = request.path_params["name"]
        dry_run = request.query_params.get("dry_run") == "1"

        def run() -> Response:
            with ui.workspace() as ws:
                result = adopt_uc.adopt(ws, [name], dry_run=dry_run)
            return page(request, "_adopt_report.html", {"r": result, "t": result.plan.total(), "name": name})

        try:
            return await anyio.to_thread.run_sync(run)
        except PumasError as e:
            return _error(e)

    def app_sync(request: Request) -> Response:
        name = request.path_params["name"]

        def run(reporter: JobReporter) -> list[str]:
            from ..usecases.sync import sync_apps

            reporter.start(f"syncing {name}", None, unit="apps")
            with ui.workspace() as ws:
                reports = sync_apps(ws, name)
            for r in reports:
                for line in r.warnings + r.errors:
                    reporter.warn(f"{r.app}: {line}")
            return [r.summary() for r in reports]

        job = ui.activity.submit("sync", f"Sync {name}", run, detail=f"pumas sync {name}")
        return JSONResponse({"job": job.id})

    async def app_mount(request: Request) -> Response:
        """Start a view daemon with `pumas mount` in its own process: it forks, which a threaded server must not."""
        import subprocess
        import sys

        name = request.path_params["name"]
        form = await request.form()
        try:
            mountpoint = ui.allowlist.check_target(str(form.get("mountpoint", "")).strip())
        except PumasError as e:
            return _error(e)
        args = [sys.executable, "-m", "pumasfs", "--root", str(ui.root), "mount", name, str(mountpoint)]
        if form.get("content") == "on":
            args.append("--content")
        proc = await anyio.run_process(args, check=False, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            return Response((lines[-1] if lines else "mount failed").removeprefix("pumas: "), status_code=400)
        return Response(proc.stdout.decode().strip(), headers={"HX-Refresh": "true"})

    async def app_umount(request: Request) -> Response:
        from ..view.daemon import umount as stop_view

        form = await request.form()
        mountpoint = str(form.get("mountpoint", ""))
        known = {v["mountpoint"] for v in await anyio.to_thread.run_sync(_views)}
        if mountpoint not in known:  # only views of this library, never an arbitrary path from the browser
            return Response(f"{mountpoint} is not a view of this library", status_code=400)
        try:
            text = await anyio.to_thread.run_sync(lambda: stop_view(ui.layout, mountpoint))
        except PumasError as e:
            return _error(e)
        return Response(text, headers={"HX-Refresh": "true"})

    def _views() -> list[dict[str, Any]]:
        from ..view.daemon import list_views

        return list_views(ui.layout)

    def app_remove(request: Request) -> Response:
        from ..usecases import apps as apps_uc

        name = request.path_params["name"]
        try:
            with ui.workspace() as ws:
                removed = apps_uc.remove_app(ws, name)
        except PumasError as e:
            return _error(e)
        return Response(removed.report.summary(), headers={"HX-Redirect": "/apps"})

    # -- the mapping editor --

    def editor_ctx(ws: Workspace, name: str) -> dict[str, Any]:
        from ..installs import get_app
        from ..map_selection import select_map
        from ..model_folders import discover_model_folders
        from ..usecases import map_editing as me

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

    def map_page(request: Request) -> Response:
        name = request.path_params["name"]
        q, state = _query(request)
        try:
            with ui.workspace() as ws:
                ctx = editor_ctx(ws, name)
                models = browse_models(ws, BrowseQuery(search=q.search, subtype=q.subtype, family=q.family,
                                                       page_size=100), facets=True)
        except PumasError as e:
            return page(request, "error.html", {"message": e.message}, status=_status(e))
        return page(request, "map.html", {**ctx, "models": models, "state": state})

    def map_models(request: Request) -> Response:
        q, state = _query(request)
        with ui.workspace() as ws:
            models = browse_models(ws, BrowseQuery(search=q.search, subtype=q.subtype, family=q.family,
                                                   page_size=100), facets=False)
        return page(request, "_map_models.html", {"models": models, "state": state})

    async def map_action(request: Request) -> Response:
        from ..installs import get_app
        from ..usecases import map_editing as me

        name, action = request.path_params["name"], request.path_params["action"]
        form = await request.form()

        def run() -> Response:
            with ui.workspace() as ws:
                install = get_app(ws.layout, name)
                if name not in ui.drafts:
                    editor_ctx(ws, name)
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
                ctx = editor_ctx(ws, name)
            return page(request, "_editor.html", ctx)

        try:
            return await anyio.to_thread.run_sync(run)
        except PumasError as e:
            return _error(e)

    # -- downloads and activity --

    async def queue_download(request: Request) -> Response:
        form = await request.form()
        repo = str(form.get("repo", "")).strip()
        files = [f for f in str(form.get("files", "")).split() if f]
        revision = str(form.get("revision", "")).strip() or None
        if repo.count("/") != 1:
            return Response(f"{repo!r} is not a hub repo id (expected owner/name)", status_code=400)

        def run(reporter: JobReporter) -> dict[str, Any]:
            # Cancel: the JobReporter raises Cancelled from the download's next progress call.
            with ui.workspace() as ws:
                report = hub_uc.download(ws, repo, files, revision=revision, reporter=reporter)
            out: dict[str, Any] = report.result.to_json()
            return out

        title = f"Download {repo}" + (f": {', '.join(files)}" if files else "")
        job = ui.activity.submit("download", title, run, cancellable=True, detail=f"{repo}@{revision or 'main'}")
        return JSONResponse({"job": job.id})

    def sync_job(request: Request) -> Response:
        def run(reporter: JobReporter) -> list[str]:
            from ..usecases.sync import sync_apps

            reporter.start("syncing apps", None, unit="apps")
            with ui.workspace() as ws:
                reports = sync_apps(ws)
            for r in reports:
                for line in r.warnings + r.errors:
                    reporter.warn(f"{r.app}: {line}")
                if r.conflicts:
                    reporter.warn(f"{r.app}: {len(r.conflicts)} conflict(s) left untouched")
            return [r.summary() for r in reports] or ["no app is materialized yet"]

        job = ui.activity.submit("sync", "Sync every app", run, detail="pumas sync")
        return JSONResponse({"job": job.id})

    def activity_page(request: Request) -> Response:
        return page(request, "activity.html", {"jobs": ui.activity.listing()})

    def jobs_json(request: Request) -> Response:
        return JSONResponse([j.to_json() for j in ui.activity.listing()])

    def cancel_job(request: Request) -> Response:
        job = ui.activity.cancel(request.path_params["job_id"])
        if job is None:
            return Response("no such job", status_code=404)
        return JSONResponse(job.to_json())

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            async for chunk in ui.activity.events():
                if await request.is_disconnected():
                    break
                yield chunk

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"cache-control": "no-store", "x-accel-buffering": "no"})

    routes = [
        Route("/", library),
        Route("/api/models", api_models),
        Route("/model/{model_id:path}/related", related),
        Route("/model/{model_id:path}/edit", edit, methods=["POST"]),
        Route("/model/{model_id:path}/delete", delete, methods=["POST"]),
        Route("/model/{model_id:path}/overrides", overrides, methods=["POST"]),
        Route("/model/{model_id:path}/unpin", unpin, methods=["POST"]),
        Route("/model/{model_id:path}", model_page),
        Route("/trash", trash_page),
        Route("/trash/empty", trash_empty, methods=["POST"]),
        Route("/trash/{item_id}/restore", trash_restore, methods=["POST"]),
        Route("/preview/{model_id:path}", preview),
        Route("/import", import_page),
        Route("/import/browse", browse_dir),
        Route("/import/path", import_path, methods=["POST"]),
        Route("/uploads", open_batch, methods=["POST"]),
        Route("/uploads/{batch}/file", upload_file, methods=["PUT"]),
        Route("/uploads/{batch}/import", import_batch, methods=["POST"]),
        Route("/uploads/{batch}", discard_batch, methods=["DELETE"]),
        Route("/downloads", queue_download, methods=["POST"]),
        Route("/apps", apps_page),
        Route("/apps/add", add_app, methods=["POST"]),
        Route("/apps/{name}", app_page),
        Route("/apps/{name}/materialize", app_materialize, methods=["POST"]),
        Route("/apps/{name}/map", map_page),
        Route("/apps/{name}/map/models", map_models),
        Route("/apps/{name}/map/{action}", map_action, methods=["POST"]),
        Route("/apps/{name}/sync", app_sync, methods=["POST"]),
        Route("/apps/{name}/adopt", app_adopt, methods=["POST"]),
        Route("/apps/{name}/mount", app_mount, methods=["POST"]),
        Route("/apps/{name}/umount", app_umount, methods=["POST"]),
        Route("/apps/{name}/remove", app_remove, methods=["POST"]),
        Route("/activity", activity_page),
        Route("/sync", sync_job, methods=["POST"]),
        Route("/api/jobs", jobs_json),
        Route("/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
        Route("/events", events),
        Route("/favicon.ico", lambda request: FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(ui.close)

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.ui = ui
    app.add_middleware(SecurityMiddleware, guard=config.guard)
    return app
