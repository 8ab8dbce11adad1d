"""What every page of `pumas ui` shares: the run's state and the few ways a handler answers.

``Ui`` is the state of one server run (settings, jobs, upload batches, the
map editor's drafts); a handler finds it with :func:`ui_of`.  A handler
answers with a rendered page (:func:`page`), the CLI's one-line error as
plain text (:func:`error_response`), or runs blocking use-case work off the
event loop with :func:`in_thread`, which turns a refusal into that same line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from pumasfs.base.errors import NotFound, PumasError
from pumasfs.ui import present
from pumasfs.ui.activity import Activity
from pumasfs.ui.allowlist import Allowlist
from pumasfs.ui.security import Guard
from pumasfs.ui.uploads import Uploads
from pumasfs.usecases.workspace import Workspace

HERE = Path(__file__).parent


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
        from pumasfs.hub.badge import badge_label, civitai_badge

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


def ui_of(request: Request) -> Ui:
    return cast(Ui, request.app.state.ui)


def page(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> Response:
    """A template rendered with what every page shows (the count of running jobs)."""
    ui = ui_of(request)
    active = sum(1 for j in ui.activity.jobs.values() if j.active)
    return ui.templates.TemplateResponse(request, name, {"active_jobs": active, **ctx}, status_code=status)


def status_of(e: PumasError) -> int:
    return 404 if isinstance(e, NotFound) else 409 if e.exit_code == 3 else 400


def error_response(e: PumasError) -> Response:
    # The same one line the CLI prints, without its "pumas: " prefix.
    return Response(e.message, status_code=status_of(e), media_type="text/plain; charset=utf-8")


def error_page(request: Request, e: PumasError) -> Response:
    return page(request, "error.html", {"message": e.message}, status=status_of(e))


async def in_thread(run: Callable[[], Response]) -> Response:
    """Run a handler's blocking part (use cases: disk, SQLite) off the event loop; a refusal is its one line."""
    try:
        return await anyio.to_thread.run_sync(run)
    except PumasError as e:
        return error_response(e)
