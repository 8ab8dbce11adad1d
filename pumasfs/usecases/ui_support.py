"""Thin glue for the web UI until the use case it needs exists in this package.

``remove_models`` repeats, step for step, what `pumas rm` does today (links in
every app, then the model, then the apps catch up) and nothing more: when
``usecases/remove.py`` (the trash) lands, the UI calls that and this module goes.
"""

from __future__ import annotations

from .after_change import catch_up_apps, unlink_everywhere
from .progress import NULL_REPORTER, Reporter
from .workspace import Workspace


def remove_models(ws: Workspace, refs: list[str], *, reporter: Reporter = NULL_REPORTER) -> list[str]:
    """`pumas rm`: links in every app, then the model, then the apps catch up."""
    lib = ws.library
    ids = [lib.resolve_id(r) for r in refs]
    reporter.start("removing", len(ids), unit="models")
    for model_id in ids:
        reporter.item(model_id)
        unlink_everywhere(ws, model_id)
        lib.remove(model_id)
        reporter.advance(1)
    catch_up_apps(ws, reporter)
    return ids
