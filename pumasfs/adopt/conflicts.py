"""What adoption would collide with, predicted before anything moves (pure: plans in, conflicts out).

Adoption pins each file at its path and lets the map place the new models in
every other install.  The placement rules (``pumasfs.planning.planner``) settle every
clash, so the dry run asks them: it plans each install with the library as
it is and as it would be after adoption, and reads the difference.

- ``renamed``: a model placed at a path now (by the map) gives the name up
  to a pinned file with other bytes and shows under another name: a saved
  workflow naming it by its old name would load the pinned file;
- ``not-placed``: a model that cannot be placed in an install at all (its
  pinned path is held by another pin);
- ``pin-moves``: a path pinned for a library model holds other bytes now;
  they become a model of their own and the pin moves to it;
- ``occupied``: a new placement lands on something pumas does not own
  (found on disk by the caller); ``pumas materialize`` would stop there.
"""

from __future__ import annotations

from dataclasses import dataclass

from pumasfs.planning.plan import Plan


@dataclass(frozen=True)
class PredictedConflict:
    app: str
    path: str  # relative to the folder pumas links into for that install
    kind: str  # renamed | not-placed | pin-moves | occupied
    detail: str

    def line(self) -> str:
        return f"{self.app}: {self.path}: {self.detail}"

    def to_json(self) -> dict[str, str]:
        return {"app": self.app, "path": self.path, "kind": self.kind, "detail": self.detail}


def _suffix(path: str) -> str:
    name = path.rpartition("/")[2]
    return name[name.find("."):] if "." in name else ""


def compare_plans(app: str, before: Plan, after: Plan, touched: set[str], names: dict[str, str]
                  ) -> tuple[list[PredictedConflict], list[str]]:
    """(conflicts, new paths of touched models to look at on disk) for one install.

    ``touched``: the models adoption creates or pins; ``names``: model id ->
    how to name it in a message (for new models, where it was found).
    """
    out: list[PredictedConflict] = []
    before_of = before.by_model()
    after_of = after.by_model()
    for mid, paths in sorted(before_of.items()):
        gone = sorted(set(paths) - set(after_of.get(mid, [])))
        for p in gone:
            holder = after.entries.get(p)
            if holder is None or holder.model_id == mid:
                continue
            now = [q for q in after_of.get(mid, []) if _suffix(q) == _suffix(p)]
            where = f"shows as {now[0]}" if now else "is no longer placed here"
            out.append(PredictedConflict(app, p, "renamed",
                                         f"{names.get(mid, mid)} is placed here now; after adoption "
                                         f"{names.get(holder.model_id, holder.model_id)} (other bytes) holds the "
                                         f"name and {mid} {where}"))
    for col in after.collisions:
        for mid, new in col.renamed:
            if mid in touched and mid not in before.models:
                # Named by the winner's file of the same kind (col.path may be a sidecar of it).
                same = [q for q in after_of.get(col.winner, []) if _suffix(q) == _suffix(new)]
                out.append(PredictedConflict(app, same[0] if same else col.path, "renamed",
                                             f"{names.get(mid, mid)} (other bytes, same name) would be placed "
                                             f"here; {names.get(col.winner, col.winner)} keeps the name and it "
                                             f"shows as {new}"))
    for ex in after.excluded:
        if ex.model_id in touched and ex.reason == "collision":
            out.append(PredictedConflict(app, ex.detail.partition(" is taken")[0], "not-placed",
                                         f"{names.get(ex.model_id, ex.model_id)} cannot be placed: {ex.detail}"))
    fresh = sorted(p for p, e in after.entries.items()
                   if e.model_id in touched and (p not in before.entries or before.entries[p] != e))
    return out, fresh
