"""The import page: a path from the allowed folders, and files dropped in the browser (upload batches)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pumasfs.base.errors import PumasError
from pumasfs.ui.activity import Job, JobReporter
from pumasfs.ui.context import Ui, error_response, page, ui_of
from pumasfs.ui.uploads import CHUNK, FileWriter
from pumasfs.usecases import imports as imports_uc


def import_page(request: Request) -> Response:
    return page(request, "import.html", {"roots": ui_of(request).allowlist.roots})


def browse_dir(request: Request) -> Response:
    allowlist = ui_of(request).allowlist
    raw = request.query_params.get("path") or None
    try:
        folder, entries = allowlist.listing(raw)
    except PumasError as e:
        return page(request, "_folder.html", {"error": e.message, "folder": None, "entries": [], "parent": None})
    parent = allowlist.parent_of(folder) if folder else None
    return page(request, "_folder.html", {"error": None, "folder": folder, "entries": entries, "parent": parent,
                                         "multiple_roots": len(allowlist.roots) > 1})


def import_job(ui: Ui, title: str, paths: list[Path], move: bool,
               on_finish: Callable[[Job], None] | None = None, detail: str = "") -> Job:
    def run(reporter: JobReporter) -> list[dict[str, Any]]:
        from pumasfs.importing.importer import ImportOptions

        with ui.workspace() as ws:
            report = imports_uc.import_models(ws, paths, ImportOptions(move=move),
                                              lookup=ui.config.lookup_after_import, reporter=reporter)
        return [r.to_json() for r in report.results]

    return ui.activity.submit("import", title, run, on_finish=on_finish, detail=detail)


async def import_path(request: Request) -> Response:
    ui = ui_of(request)
    form = await request.form()
    try:
        path = ui.allowlist.check(str(form.get("path", "")).strip())
    except PumasError as e:
        return error_response(e)
    move = form.get("mode") == "move"
    job = import_job(ui, f"Import {path.name}" + (" (move)" if move else ""), [path], move, detail=str(path))
    return JSONResponse({"job": job.id})


def open_batch(request: Request) -> Response:
    batch = ui_of(request).uploads.open()
    return JSONResponse({"batch": batch.id})


async def upload_file(request: Request) -> Response:
    try:
        batch = ui_of(request).uploads.get(request.path_params["batch"])
        writer = await anyio.to_thread.run_sync(FileWriter, batch, request.query_params.get("name", ""))
    except PumasError as e:
        return error_response(e)
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
            from pumasfs.base.errors import os_error_text

            return Response(f"upload failed: {os_error_text(e)}", status_code=507)
        raise
    return JSONResponse({"name": done.name, "size": done.size, "sha256": done.sha256})


def import_batch(request: Request) -> Response:
    ui = ui_of(request)
    try:
        batch = ui.uploads.get(request.path_params["batch"])
    except PumasError as e:
        return error_response(e)
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

    job = import_job(ui, f"Import {names}", batch.top_level(), True, on_finish=finish, detail="dropped in the browser")
    job.kind = "upload"
    return JSONResponse({"job": job.id})


def discard_batch(request: Request) -> Response:
    ui_of(request).uploads.close(request.path_params["batch"])
    return Response(status_code=204)


ROUTES = [
    Route("/import", import_page),
    Route("/import/browse", browse_dir),
    Route("/import/path", import_path, methods=["POST"]),
    Route("/uploads", open_batch, methods=["POST"]),
    Route("/uploads/{batch}/file", upload_file, methods=["PUT"]),
    Route("/uploads/{batch}/import", import_batch, methods=["POST"]),
    Route("/uploads/{batch}", discard_batch, methods=["DELETE"]),
]
