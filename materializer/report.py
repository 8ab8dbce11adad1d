"""What a materialize, sync, uninstall or relocate did (or would do), for people and scripts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConflictInfo:
    """Something at a path we need that pumas does not own; it is reported and never touched."""

    path: str  # absolute
    reason: str  # exists | changed | not-a-folder | inside-link | held-by-other-model | unsafe-path
    detail: str


@dataclass
class SyncReport:
    app: str
    mode: str  # full | incremental | verify | uninstall | relocate | cascade
    base_dir: str = ""
    dry_run: bool = False
    applied: bool = False  # False when conflicts (or dry_run) kept everything as it was
    link_types: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # app-relative paths
    retargeted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)  # links already on disk exactly as planned (e.g. after a crash)
    forgotten: list[str] = field(default_factory=list)  # registry rows dropped (link vanished or changed by someone)
    unchanged: int = 0
    folders_created: list[str] = field(default_factory=list)
    folders_removed: list[str] = field(default_factory=list)
    conflicts: list[ConflictInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.created) + len(self.retargeted) + len(self.removed) + len(self.adopted) + len(self.forgotten)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["changed"] = self.changed
        return d

    def summary(self) -> str:
        verb = "would " if self.dry_run else ""
        if self.mode == "uninstall":
            kept = f", {len(self.forgotten)} left alone or already gone" if self.forgotten else ""
            return (f"{self.app}: {verb}remove {len(self.removed)} link(s) and "
                    f"{len(self.folders_removed)} folder(s) pumas made{kept}")
        parts = [
            f"{verb}create {len(self.created)}", f"{verb}retarget {len(self.retargeted)}",
            f"{verb}remove {len(self.removed)}", f"{self.unchanged} unchanged",
        ]
        if self.adopted:
            parts.append(f"{verb}adopt {len(self.adopted)}")
        if self.forgotten:
            parts.append(f"{verb}forget {len(self.forgotten)} vanished")
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} conflict(s)")
        types = f" [{', '.join(self.link_types)}]" if self.link_types else ""
        return f"{self.app} ({self.mode}{types}): " + ", ".join(parts)
