"""The last full plan of an app, kept in registry.db under the digest of what the planner read.

A full sync whose fingerprint differs from the last clean one (a killed run
to check, another link type, a check of every link asked for) still has the
same *plan* whenever the planner's inputs are the same: the map and install
(``PlanInputs.key``) and the library as of an index epoch and change-log
position.  The planner is pure, so that digest names the plan exactly;
re-planning 10,000 models (reading and decoding every index row, then
placing them) cost about two thirds of such a sync.  The stored plan is
read back instead (one JSON value, ~10 ms for 10,000 entries) and the sync
goes straight to checking the disk, which still happens in full: the memo
saves the planner, never a look at a link.

Only the entries are kept: a full apply reads nothing else of a plan
(exclusions and collisions are the planner's words for ``pumas show``).
The memo is as trustworthy as the sync fingerprint: both rely on every
change to a model row advancing the change log (another epoch after a
rebuild), and on the inputs key naming the planner too: ``pumasfs.__version__``
and a digest of the planner's source (``replan.planner_code``), so that a
changed planner never reuses an old plan, released or not.
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from pumasfs.planning.plan import Plan, PlanEntry
from pumasfs.planning.replan import Cursor

_ENTRIES: TypeAdapter[dict[str, PlanEntry]] = TypeAdapter(dict[str, PlanEntry])


def memo_key(cursor: Cursor) -> str:
    """What a full plan depends on: the inputs key and the index position it was planned at."""
    return f"{cursor.key}:{cursor.epoch}:{cursor.seq}"


def encode(plan: Plan) -> bytes:
    """A full plan's entries as JSON (``{path: [model_id, source, is_dir]}``)."""
    return _ENTRIES.dump_json(plan.entries)


def decode(app: str, blob: bytes) -> Plan | None:
    """The stored plan, or None when the bytes are not one (a memo is a cache: never an error).

    ``models`` holds the models with entries; a full plan's consumers do not
    read it (it scopes partial plans only).
    """
    try:
        entries = _ENTRIES.validate_json(blob)
    except ValidationError:
        return None
    return Plan(app=app, entries=entries, models=frozenset(e.model_id for e in entries.values()), full=True)
