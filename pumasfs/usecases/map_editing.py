"""Editing an install's translation map by example: the mapping editor's use cases.

A user picks models and a folder; :func:`propose_rule` finds what the picked
models have in common (type, subtype, family, format, tags, a file-name
glob) and proposes a rule sending them there, with the other models it would
also catch.  Every draft is planned by the same planner `pumas materialize`
uses (:func:`plan_for`), and :func:`diff_plans` says which links would be
created, moved or removed.  :func:`save_map` writes a draft only after the
same pydantic validation that files on disk get, so the editor can never
write a map that pumas would refuse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pumasfs.base import atomic
from pumasfs.base.errors import PumasError
from pumasfs.planning.comfyui_map import default_comfyui_map
from pumasfs.planning.installs import AppInstall, update_app
from pumasfs.planning.map_schema import Match, Rule, TranslationMap, map_json, parse_map
from pumasfs.planning.map_store import builtin_maps
from pumasfs.planning.model_folders import discover_model_folders
from pumasfs.planning.plan import Plan
from pumasfs.planning.planner import _match_name, _rule_verdict, build_plan
from pumasfs.store.metadata import OVERRIDES_FILE, Overrides, validation_error_line
from pumasfs.store.model_record import ModelRecord
from pumasfs.usecases.workspace import Workspace

CRITERIA = ("model_type", "subtype", "family", "format", "tags_any", "filename_glob")


@dataclass
class Proposal:
    """A rule that sends the selection to ``target``, and what it would also catch."""

    target: str
    selection: list[str]
    criteria: dict[str, list[str]]  # every criterion the selection shares (the user narrows or widens)
    chosen: list[str]  # the criteria proposed on (the most specific common ones)
    rule: Rule
    catches: list[str] = field(default_factory=list)  # other models the rule matches


def make_rule(name: str, target: str, criteria: dict[str, list[str]], priority: int) -> Rule:
    """A rule from criteria, validated like a map file's rule (one clear message if not)."""
    try:
        return Rule(name=name, target=target, priority=priority, match=Match.model_validate(criteria))
    except ValidationError as e:
        raise PumasError(f"rule {name!r}: {validation_error_line(e)}") from None


def _common_prefix(names: list[str]) -> str:
    prefix = os.path.commonprefix(names)
    return prefix if len(prefix) >= 3 else ""


def propose_rule(records: list[ModelRecord], selected: list[str], target: str, *, priority: int) -> Proposal:
    """What the selected models have in common, as a rule for ``target``."""
    chosen_records = [r for r in records if r.model_id in set(selected)]
    if not chosen_records:
        raise PumasError("select at least one model to make a rule from")
    metas = [r.meta for r in chosen_records]
    criteria: dict[str, list[str]] = {}
    for key in ("model_type", "subtype", "family", "format"):
        values = {str(getattr(m, key) or "").lower() for m in metas}
        if len(values) == 1 and "" not in values:
            criteria[key] = sorted(values)
    tags = set.intersection(*({t.lower() for t in m.tags} for m in metas))
    if tags:
        criteria["tags_any"] = sorted(tags)
    names = [_match_name(m).lower() for m in metas]
    prefix = _common_prefix(names)
    if len(names) == 1:
        criteria["filename_glob"] = names
    elif prefix:
        criteria["filename_glob"] = [prefix + "*"]
    # Propose on what describes the kind of model (subtype, family), not on names and tags;
    # those stay offered for narrowing.
    kinds: tuple[str, ...] = ("subtype", "family", "model_type", "format")
    chosen = [k for k in kinds if k in criteria][:2]
    chosen = chosen or list(criteria)[:1]
    rule = make_rule(f"{target} (from {len(metas)} model{'s' if len(metas) > 1 else ''})", target,
                     {k: criteria[k] for k in chosen}, priority)
    proposal = Proposal(target=target, selection=[r.model_id for r in chosen_records], criteria=criteria,
                        chosen=chosen, rule=rule)
    proposal.catches = catches(rule, records, exclude=set(proposal.selection))
    return proposal


def catches(rule: Rule, records: list[ModelRecord], *, exclude: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    return [r.model_id for r in records if r.model_id not in exclude and _rule_verdict(rule, r.meta) == "match"]


def with_rule(tmap: TranslationMap, rule: Rule) -> TranslationMap:
    return tmap.model_copy(update={"rules": [*tmap.rules, rule]})


def top_priority(tmap: TranslationMap) -> int:
    """A priority above every rule's: a rule made from a selection must win for those models."""
    return max((r.priority for r in tmap.rules), default=0) + 1


def reorder(tmap: TranslationMap, index: int, delta: int) -> TranslationMap:
    """Move the rule at ``index`` (in priority order) by ``delta``; priorities are renumbered to keep the order."""
    ordered = tmap.ordered_rules()
    j = index + delta
    if not (0 <= index < len(ordered) and 0 <= j < len(ordered)):
        return tmap
    ordered[index], ordered[j] = ordered[j], ordered[index]
    n = len(ordered)
    return tmap.model_copy(update={"rules": [r.model_copy(update={"priority": n - i}) for i, r in enumerate(ordered)]})


def remove_rule(tmap: TranslationMap, index: int) -> TranslationMap:
    ordered = tmap.ordered_rules()
    if not 0 <= index < len(ordered):
        return tmap
    gone = ordered[index]
    return tmap.model_copy(update={"rules": [r for r in tmap.rules if r is not gone]})


def edit_rule(tmap: TranslationMap, index: int, *, target: str, priority: int) -> TranslationMap:
    ordered = tmap.ordered_rules()
    if not 0 <= index < len(ordered):
        raise PumasError("no such rule (the map changed meanwhile: reload)")
    old = ordered[index]
    new = make_rule(old.name, target, old.match.model_dump(exclude_defaults=True), priority)
    return tmap.model_copy(update={"rules": [new if r is old else r for r in tmap.rules]})


def plan_for(ws: Workspace, install: AppInstall, tmap: TranslationMap) -> Plan:
    """The Plan this map gives the install: the planner `materialize` runs, on the whole library."""
    return build_plan(list(ws.library.index.records()), tmap, install, full=True)


@dataclass
class PlanDiff:
    created: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)  # (old path, new path)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.created or self.moved or self.removed)


def diff_plans(old: Plan, new: Plan) -> PlanDiff:
    """Links that would be created, moved or removed going from ``old`` to ``new``."""
    out = PlanDiff()
    before, after = old.by_model(), new.by_model()
    for model_id in sorted(before.keys() | after.keys()):
        a, b = sorted(before.get(model_id, [])), sorted(after.get(model_id, []))
        if a == b:
            continue
        if not a:
            out.created += b
        elif not b:
            out.removed += a
        else:
            out.moved += list(zip(a, b, strict=False))
            out.created += b[len(a):]
            out.removed += a[len(b):]
    return out


def default_map_for(ws: Workspace, install: AppInstall) -> TranslationMap:
    """The map `pumas app add` would write for this install's kind."""
    if install.kind == "comfyui":
        return default_comfyui_map(discover_model_folders(install))
    for _, m in builtin_maps():
        if m.app == install.kind and m.install is None:
            return m
    raise PumasError(f"pumas ships no default map for {install.kind}")


def save_map(ws: Workspace, install: AppInstall, tmap: TranslationMap, *, as_variant: str | None = None,
             version_range: str = "*") -> Path:
    """Write the draft: the install's own map, or a new variant of the kind's map (used by this install).

    The text is validated by :func:`parse_map` exactly as a file on disk is
    before it is written (atomically); a draft pumas would refuse is never written.
    """
    layout = ws.writable_layout()
    update: dict[str, Any] = {"app": install.kind, "discovered_folders": discover_model_folders(install)}
    if as_variant:
        update |= {"install": None, "variant": as_variant, "version_range": version_range}
        name = f"{install.kind}-{as_variant}.json"
    else:
        update |= {"install": install.name, "variant": "default", "version_range": version_range}
        name = f"{install.kind}-install-{install.name}.json"
    try:
        draft = TranslationMap.model_validate({**tmap.model_dump(), **update})
    except ValidationError as e:
        raise PumasError(f"{name}: {validation_error_line(e)}") from None
    text = map_json(draft)
    parse_map(text, name)  # the reader's own check, on the very bytes we write
    layout.maps_dir.mkdir(parents=True, exist_ok=True)
    path = layout.maps_dir / name
    atomic.write_bytes(path, text.encode("utf-8"))
    if as_variant and install.variant != as_variant:
        update_app(layout, install.name, variant=as_variant)
    return path


def set_version_ranges(ws: Workspace, ref: str, ranges: dict[str, str]) -> Overrides:
    """Write a model's overrides.json (PEP 440 ranges per app kind or install), then the apps catch up.

    Validated by the same pydantic model the planner reads, so a range pumas
    would refuse is never written; an empty mapping removes the file.
    """
    from pumasfs.usecases.after_change import catch_up_apps

    lib = ws.library
    model_id = lib.resolve_id(ref)
    folder = lib.model_dir(model_id)
    clean = {k.strip(): v.strip() for k, v in ranges.items() if k.strip()}
    try:
        overrides = Overrides(version_ranges=clean)
    except ValidationError as e:
        raise PumasError(f"overrides for {model_id}: {validation_error_line(e)}") from None
    path = folder / OVERRIDES_FILE
    if clean:
        atomic.write_bytes(path, (overrides.model_dump_json(indent=2) + "\n").encode("utf-8"))
    else:
        path.unlink(missing_ok=True)
    lib.save(lib.get(model_id))  # re-index the record with its overrides (the planner reads them from the index)
    catch_up_apps(ws)
    return overrides
