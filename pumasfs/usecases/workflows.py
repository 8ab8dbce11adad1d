"""``pumas workflows APP``: which models an install's saved ComfyUI workflows cannot load."""

from __future__ import annotations

from dataclasses import dataclass, field

from pumasfs.adopt.listing import resolves
from pumasfs.adopt.workflows import Reference, all_references, key_folders, workflow_files
from pumasfs.base.errors import PumasError
from pumasfs.planning.installs import get_app
from pumasfs.usecases.workspace import Workspace


@dataclass
class WorkflowReport:
    files: int
    references: list[Reference] = field(default_factory=list)
    unresolved: list[Reference] = field(default_factory=list)


def check_workflows(ws: Workspace, app_name: str) -> WorkflowReport:
    app = get_app(ws.layout, app_name)
    if app.kind != "comfyui":
        raise PumasError(f"{app_name} is a {app.kind} install; saved workflows are ComfyUI's")
    folders = key_folders(app)
    refs = all_references(app)
    return WorkflowReport(
        files=len(workflow_files(app.path)),
        references=refs,
        unresolved=[r for r in refs if not resolves(folders.get(r.key, []), r.name)],
    )
