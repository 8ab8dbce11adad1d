"""The activity page: jobs (imports, downloads, syncs) with live progress, and the jobs that start there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pumasfs.ui.activity import Job, JobReporter
from pumasfs.ui.context import Ui, page, ui_of
from pumasfs.usecases import hub as hub_uc


def submit_sync(ui: Ui, name: str | None = None) -> Job:
    """`pumas sync [NAME]` as a job: one app, or every app when ``name`` is None."""

    def run(reporter: JobReporter) -> list[str]:
        from pumasfs.usecases.sync import sync_apps

        reporter.start(f"syncing {name or 'apps'}", None, unit="apps")
        with ui.workspace() as ws:
            reports = sync_apps(ws, name)
        for r in reports:
            for line in r.warnings + r.errors:
                reporter.warn(f"{r.app}: {line}")
            if r.conflicts:
                reporter.warn(f"{r.app}: {len(r.conflicts)} conflict(s) left untouched")
        summaries = [r.summary() for r in reports]
        return summaries if summaries or name else ["no app is materialized yet"]

    title, detail = (f"Sync {name}", f"pumas sync {name}") if name else ("Sync every app", "pumas sync")
    return ui.activity.submit("sync", title, run, detail=detail)


def sync_job(request: Request) -> Response:
    return JSONResponse({"job": submit_sync(ui_of(request)).id})


async def queue_download(request: Request) -> Response:
    ui = ui_of(request)
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


def activity_page(request: Request) -> Response:
    return page(request, "activity.html", {"jobs": ui_of(request).activity.listing()})


def jobs_json(request: Request) -> Response:
    return JSONResponse([j.to_json() for j in ui_of(request).activity.listing()])


def cancel_job(request: Request) -> Response:
    job = ui_of(request).activity.cancel(request.path_params["job_id"])
    if job is None:
        return Response("no such job", status_code=404)
    return JSONResponse(job.to_json())


async def events(request: Request) -> Response:
    activity = ui_of(request).activity

    async def stream() -> AsyncIterator[str]:
        async for chunk in activity.events():
            if await request.is_disconnected():
                break
            yield chunk

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


ROUTES = [
    Route("/downloads", queue_download, methods=["POST"]),
    Route("/activity", activity_page),
    Route("/sync", sync_job, methods=["POST"]),
    Route("/api/jobs", jobs_json),
    Route("/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    Route("/events", events),
]
