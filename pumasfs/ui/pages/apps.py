"""The apps pages: the registered installs, one install's folders and links; add, materialize, adopt,
sync, mount, unmount, remove."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pumasfs.base.errors import PumasError
from pumasfs.ui.context import Ui, error_page, error_response, in_thread, page, ui_of
from pumasfs.ui.pages.activity import submit_sync
from pumasfs.usecases import apps as apps_uc
from pumasfs.usecases import ui_support
from pumasfs.usecases.mounts import list_mounts
from pumasfs.view.mounts import ViewInfo


def views_of(ui: Ui) -> list[ViewInfo]:
    """This library's views only (`pumas mounts`): a view of another root is not this page's to unmount."""
    with ui.workspace() as ws:
        return list_mounts(ws).views


def apps_page(request: Request) -> Response:
    ui = ui_of(request)
    with ui.workspace() as ws:
        listing = apps_uc.list_apps(ws)
        rows = [(a, ui_support.app_links(ws, a.name)) for a in listing.apps]
    found = ui_support.find_installs(ui.allowlist.roots, [a.path for a in listing.apps])
    return page(request, "apps.html", {"rows": rows, "found": found, "roots": ui.allowlist.roots})


async def add_app(request: Request) -> Response:
    ui = ui_of(request)
    form = await request.form()

    def run() -> Response:
        path = ui.allowlist.check(str(form.get("path", "")).strip())
        kind = str(form.get("kind", "comfyui")).strip() or "comfyui"
        name = str(form.get("name", "")).strip() or None
        with ui.workspace() as ws:
            added = apps_uc.add_app(ws, kind, path, name=name)
        return Response("\n".join([f"added {added.install.name}", *added.warnings]),
                        headers={"HX-Redirect": f"/apps/{added.install.name}"})

    return await in_thread(run)


def app_page(request: Request) -> Response:
    ui = ui_of(request)
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
        return error_page(request, e)
    planned = {f: len(v) for f, v in preview.folders.items()} if preview else {}
    folders = sorted(set(details.discovered_folders) | set(planned) | set(links.per_folder))
    views = [v for v in views_of(ui) if v.app == name]
    return page(request, "app.html", {"d": details, "links": links, "preview": preview, "plan_error": plan_error,
                                      "planned": planned, "folders": folders, "views": views, "fs": fs,
                                      "unmanaged": unmanaged, "roots": ui.allowlist.roots})


def app_materialize(request: Request) -> Response:
    from pumasfs.usecases import sync as sync_uc

    name = request.path_params["name"]
    dry_run = request.query_params.get("dry_run") == "1"
    try:
        with ui_of(request).workspace() as ws:
            reports = sync_uc.materialize(ws, name, dry_run=dry_run)
    except PumasError as e:
        return error_response(e)
    return page(request, "_sync_report.html", {"reports": reports, "dry_run": dry_run, "name": name})


async def app_adopt(request: Request) -> Response:
    from pumasfs.usecases import adopt as adopt_uc

    name = request.path_params["name"]
    dry_run = request.query_params.get("dry_run") == "1"

    def run() -> Response:
        with ui_of(request).workspace() as ws:
            result = adopt_uc.adopt(ws, [name], dry_run=dry_run)
        return page(request, "_adopt_report.html", {"r": result, "t": result.plan.total(), "name": name})

    return await in_thread(run)


def app_sync(request: Request) -> Response:
    return JSONResponse({"job": submit_sync(ui_of(request), request.path_params["name"]).id})


async def app_mount(request: Request) -> Response:
    """Start a view daemon with `pumas mount` in its own process: it forks, which a threaded server must not."""
    import subprocess
    import sys

    ui = ui_of(request)
    name = request.path_params["name"]
    form = await request.form()
    try:
        mountpoint = ui.allowlist.check_target(str(form.get("mountpoint", "")).strip())
    except PumasError as e:
        return error_response(e)
    args = [sys.executable, "-m", "pumasfs", "--root", str(ui.root), "mount", name, str(mountpoint)]
    if form.get("content") == "on":
        args.append("--content")
    proc = await anyio.run_process(args, check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return Response((lines[-1] if lines else "mount failed").removeprefix("pumas: "), status_code=400)
    return Response(proc.stdout.decode().strip(), headers={"HX-Refresh": "true"})


async def app_umount(request: Request) -> Response:
    from pumasfs.view.daemon import umount as stop_view

    ui = ui_of(request)
    form = await request.form()
    mountpoint = str(form.get("mountpoint", ""))
    known = {v.mountpoint for v in await anyio.to_thread.run_sync(views_of, ui)}
    if mountpoint not in known:  # only views of this library, never an arbitrary path from the browser
        return Response(f"{mountpoint} is not a view of this library", status_code=400)
    return await in_thread(lambda: Response(stop_view(ui.layout, mountpoint), headers={"HX-Refresh": "true"}))


def app_remove(request: Request) -> Response:
    name = request.path_params["name"]
    try:
        with ui_of(request).workspace() as ws:
            removed = apps_uc.remove_app(ws, name)
    except PumasError as e:
        return error_response(e)
    return Response(removed.report.summary(), headers={"HX-Redirect": "/apps"})


ROUTES = [
    Route("/apps", apps_page),
    Route("/apps/add", add_app, methods=["POST"]),
    Route("/apps/{name}", app_page),
    Route("/apps/{name}/materialize", app_materialize, methods=["POST"]),
    Route("/apps/{name}/sync", app_sync, methods=["POST"]),
    Route("/apps/{name}/adopt", app_adopt, methods=["POST"]),
    Route("/apps/{name}/mount", app_mount, methods=["POST"]),
    Route("/apps/{name}/umount", app_umount, methods=["POST"]),
    Route("/apps/{name}/remove", app_remove, methods=["POST"]),
]
