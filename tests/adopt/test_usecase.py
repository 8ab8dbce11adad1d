"""The adopt, release and workflows use cases driven without click (what a web UI would call)."""

from __future__ import annotations

from pumasfs.usecases.adopt import AdoptResult, adopt, unmanaged
from pumasfs.usecases.release import release
from pumasfs.usecases.workflows import check_workflows
from pumasfs.usecases.workspace import Workspace
from tests.adopt.conftest import machine_listing


class Recorder:
    def __init__(self) -> None:
        self.phases: list[str] = []
        self.done = 0
        self.warnings: list[str] = []

    def start(self, label: str, total: int | None = None, *, unit: str = "bytes") -> None:
        self.phases.append(label)

    def advance(self, n: int = 1) -> None:
        self.done += n

    def item(self, name: str) -> None:
        pass

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def test_use_cases_without_the_cli(machine, root):
    ws = Workspace(root)
    try:
        before = machine_listing(machine)
        assert {u.app for u in unmanaged(ws)} == {"comfyui", "a1111", "lmstudio"}
        rec = Recorder()
        dry = adopt(ws, ["a1111"], dry_run=True, reporter=rec)
        assert isinstance(dry, AdoptResult) and dry.plan.total().models == 4 and not dry.placed
        assert "reading" in rec.phases and rec.done > 0
        done = adopt(ws, ["a1111"], reporter=rec)
        assert [p.status for p in done.placed].count("adopted") == 4 and not done.failures
        assert machine_listing(machine) == before
        assert [u.app for u in unmanaged(ws, ["a1111"])] == []
        report = check_workflows(ws, "comfyui")
        assert report.files == 2 and len(report.unresolved) == 1
        back = release(ws, "a1111")
        assert len(back.restored) == 6 and back.moved == 6 and not back.failures
        assert machine_listing(machine) == before
    finally:
        ws.close()
