"""A plan source for tests: hand-built plans from a JSON file, re-read when it changes.

Run as a script it serves a view in the foreground (the same ``serve`` the
CLI runs) and prints "ready" once mounted:

    python -m tests.view.planfile PLAN.json MOUNTPOINT [--content]

The file: {"app": "...", "models_dir": "...", "entries": {"path": [model_id, source, is_dir]}}.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pumasfs.planning.plan import Plan, PlanEntry


def write_plan(path: Path, app: str, models_dir: Path, entries: dict[str, tuple[str, str, bool]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"app": app, "models_dir": str(models_dir),
                               "entries": {p: list(e) for p, e in entries.items()}}))
    os.replace(tmp, path)  # a new inode: the source sees the change even within one mtime tick


class FilePlanSource:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        data = json.loads(self.path.read_text())
        self.app = data["app"]
        self.models_dir = Path(data["models_dir"])
        self._seen: tuple | None = None

    def _stamp(self) -> tuple:
        st = os.stat(self.path)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def full(self) -> Plan:
        self._seen = self._stamp()
        data = json.loads(self.path.read_text())
        entries = {p: PlanEntry(e[0], e[1], bool(e[2])) for p, e in data["entries"].items()}
        return Plan(app=data["app"], entries=entries, models=frozenset(e.model_id for e in entries.values()))

    def poll(self) -> Plan | None:
        return self.full() if self._stamp() != self._seen else None

    def close(self) -> None:
        pass


def main(argv: list[str]) -> None:
    from pumasfs.view.daemon import serve

    plan_file, mountpoint = argv[0], argv[1]
    content = "--content" in argv

    def ready() -> None:
        print("ready", flush=True)

    serve(FilePlanSource(Path(plan_file)), mountpoint, content=content, on_ready=ready)


if __name__ == "__main__":
    main(sys.argv[1:])
