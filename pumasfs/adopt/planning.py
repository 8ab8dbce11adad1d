"""Deciding what adoption does (pure: data in, data out, no I/O).

Every candidate arrives hashed.  Candidates whose weights have the same
SHA256 are one model: the bytes of the first one found become the library
copy (unless the library already holds them) and every other place gets a
pin to the same model.  The result says, per app and in total, how many
files and models were found, how many bytes, how many were duplicates and
how many bytes adoption frees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pumasfs.adopt.scan import Candidate, LeftAlone
from pumasfs.base.hashing import SourceStamp


@dataclass
class Hashed:
    """A candidate with each file's digest (unit file rel -> (size, sha256, blake3))."""

    cand: Candidate
    digests: dict[str, tuple[int, str, str]]
    stamps: dict[str, SourceStamp] = field(default_factory=dict)  # as each file was read
    ident: Any = None  # the identification of its weights (pumasfs.identify)

    @property
    def app(self) -> str:
        return self.cand.app

    @property
    def size(self) -> int:
        return sum(d[0] for d in self.digests.values())

    def weights_key(self) -> tuple[str, ...]:
        unit = self.cand.unit
        return tuple(sorted(self.digests[f.rel][1] for f in unit.files if f.role == "weights"))


@dataclass
class ModelGroup:
    """One library model and every place it was found."""

    key: tuple[str, ...]
    existing: str | None  # the library model already holding these bytes
    instances: list[Hashed]

    @property
    def source(self) -> Hashed | None:
        """Whose bytes become the library copy (None: the library has them)."""
        return None if self.existing else self.instances[0]

    def duplicates(self) -> list[Hashed]:
        return self.instances if self.existing else self.instances[1:]


@dataclass
class AppCounts:
    files: int = 0
    models: int = 0
    bytes: int = 0
    duplicates: int = 0
    bytes_freed: int = 0
    already_managed: int = 0
    conflicts: int = 0  # predicted by a dry run (pumasfs.adopt.conflicts)

    def add(self, other: AppCounts) -> None:
        for k in vars(self):
            setattr(self, k, getattr(self, k) + getattr(other, k))


@dataclass
class AdoptPlan:
    groups: list[ModelGroup] = field(default_factory=list)
    left: list[LeftAlone] = field(default_factory=list)
    counts: dict[str, AppCounts] = field(default_factory=dict)

    def total(self) -> AppCounts:
        t = AppCounts()
        for c in self.counts.values():
            t.add(c)
        return t

    def to_json(self) -> dict[str, Any]:
        return {
            "apps": {a: vars(c) for a, c in sorted(self.counts.items())},
            "total": vars(self.total()),
            "models": [
                {"existing": g.existing, "sha256": list(g.key),
                 "places": [{"app": h.app, "path": h.cand.main_rel, "files": len(h.digests), "bytes": h.size}
                            for h in g.instances]}
                for g in self.groups
            ],
            "left_alone": [{"app": x.app, "path": x.path.encode("utf-8", "backslashreplace").decode(),
                            "reason": x.reason, "detail": x.detail} for x in self.left],
        }


def plan_adoption(
    hashed: list[Hashed], in_library: dict[tuple[str, ...], str], left: list[LeftAlone], managed: dict[str, int],
) -> AdoptPlan:
    """Group by content; ``in_library`` maps a weights key to the library model holding it."""
    plan = AdoptPlan(left=list(left))
    for app, n in managed.items():
        plan.counts.setdefault(app, AppCounts()).already_managed += n
    by_key: dict[tuple[str, ...], ModelGroup] = {}
    for h in sorted(hashed, key=lambda h: (h.app, h.cand.main_rel)):
        key = h.weights_key()
        g = by_key.get(key)
        if g is None:
            g = by_key[key] = ModelGroup(key, in_library.get(key), [])
            plan.groups.append(g)
        g.instances.append(h)
    for g in plan.groups:
        dups = {id(d) for d in g.duplicates()}
        for h in g.instances:
            c = plan.counts.setdefault(h.app, AppCounts())
            c.files += len(h.digests)
            c.models += 1
            c.bytes += h.size
            if id(h) in dups:
                c.duplicates += 1
                c.bytes_freed += h.size
    for x in left:
        plan.counts.setdefault(x.app, AppCounts())
    return plan
