"""The `pumas ui` web application: the pages' routes behind the security middleware.

Every handler does three things only: read the request, call one use case
(``pumasfs.usecases``), render the result; each page is a module of
:mod:`.pages`, and what they share (the run's state, rendering, errors) is
:mod:`.context`.  Security lives in :mod:`.security` around the whole app;
long operations run as jobs in :mod:`.activity`; dropped files stream through
:mod:`.uploads`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from pumasfs.ui.context import HERE, Ui, UiConfig
from pumasfs.ui.pages import activity, apps, imports, library, maps, model, trash
from pumasfs.ui.security import SecurityMiddleware

__all__ = ["UiConfig", "build_app"]


def favicon(request: Request) -> FileResponse:
    return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")


def build_app(config: UiConfig) -> Starlette:
    ui = Ui(config)
    routes: list[BaseRoute] = [
        *library.ROUTES, *model.ROUTES, *trash.ROUTES, *imports.ROUTES, *apps.ROUTES, *maps.ROUTES,
        *activity.ROUTES,
        Route("/favicon.ico", favicon),
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
