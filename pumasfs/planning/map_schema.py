"""Translation maps as data: the fields of a map file, checked strictly, and its JSON text.

A map is a JSON file for one app kind, a PEP 440 version range and a
variant, optionally for one install only.  Its rules select models by their
metadata and name a target folder.  Maps are strict: an unknown field is an
error, because a typo such as ``"subtpye"`` would otherwise silently match
every model.  An invalid file is refused as a whole, with the file and the
field in the message.  Where maps are kept: ``map_store.py``; which one an
install gets: ``map_selection.py``.
"""

from __future__ import annotations

import json
import re
import string

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pumasfs.base.jsonfile import parse_model
from pumasfs.base.relpath import is_safe_relpath

MAP_SCHEMA = 1
PLACEHOLDERS = frozenset({"family", "cleaned_name", "publisher", "repo", "model_type", "subtype"})
_KIND = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _lower(v: list[str]) -> list[str]:
    return [s.strip().lower() for s in v]


class Match(_Strict):
    """What a rule selects.  Every given field must hold (AND); a list holds
    when any of its values matches (OR); ``exclude_tags`` always wins."""

    model_type: list[str] = Field(default_factory=list)
    subtype: list[str] = Field(default_factory=list)
    family: list[str] = Field(default_factory=list)
    base_model: list[str] = Field(default_factory=list)
    format: list[str] = Field(default_factory=list)
    layout: list[str] = Field(default_factory=list)  # "file" | "folder"
    tags_any: list[str] = Field(default_factory=list)
    exclude_tags: list[str] = Field(default_factory=list)
    filename_glob: list[str] = Field(default_factory=list)  # against the primary file's name
    min_size: int | None = Field(default=None, ge=0)
    max_size: int | None = Field(default=None, ge=0)

    @field_validator(
        "model_type", "subtype", "family", "base_model", "format", "layout", "tags_any", "exclude_tags",
        mode="before",
    )
    @classmethod
    def _lowered(cls, v: object) -> object:
        return _lower(v) if isinstance(v, list) and all(isinstance(s, str) for s in v) else v

    @field_validator("layout")
    @classmethod
    def _layouts(cls, v: list[str]) -> list[str]:
        for item in v:
            if item not in ("file", "folder"):
                raise ValueError(f"layout must be 'file' or 'folder', not {item!r}")
        return v


class MapExclude(_Strict):
    """Models the map never places, whatever the rules say (a guard)."""

    model_type: list[str] = Field(default_factory=list)
    family: list[str] = Field(default_factory=list)  # bases the app cannot load (A1111 and Flux)
    tags: list[str] = Field(default_factory=list)

    @field_validator("model_type", "family", "tags", mode="before")
    @classmethod
    def _lowered(cls, v: object) -> object:
        return _lower(v) if isinstance(v, list) and all(isinstance(s, str) for s in v) else v


def _check_relative(value: str, what: str, *, placeholders: bool) -> str:
    if value == ".":
        return value
    if "\\" in value:
        raise ValueError(f"{what} must use '/' separators: {value!r}")
    probe = value
    if placeholders:
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as e:
            raise ValueError(f"{what} has a malformed placeholder: {e}") from None
        for name in names:
            if name not in PLACEHOLDERS:
                raise ValueError(
                    f"unknown placeholder {{{name}}} in {value!r} (known: {', '.join(sorted(PLACEHOLDERS))})"
                )
        probe = value.format(**{p: "x" for p in PLACEHOLDERS})
    if not probe or probe.startswith("/"):
        raise ValueError(f"{what} must be a relative folder, not {value!r}")
    if not is_safe_relpath(probe):
        raise ValueError(f"{what} {value!r} has an empty, '.' or '..' part (it must stay inside the app)")
    return value


class Rule(_Strict):
    name: str
    priority: int = 0  # higher first; ties keep file order
    target: str  # folder relative to the map's base; may hold {placeholders}
    match: Match = Field(default_factory=Match)
    companions: bool = True  # also link same-stem .yaml configs and previews beside the file

    @field_validator("target")
    @classmethod
    def _target(cls, v: str) -> str:
        return _check_relative(v, "target", placeholders=True)


def _valid_range(v: str) -> str:
    v = v.strip()
    if v in ("", "*"):
        return "*"
    try:
        SpecifierSet(v)
    except InvalidSpecifier:
        raise ValueError(f"not a PEP 440 version range: {v!r} (use e.g. \">=0.3,<0.4\", or \"*\")") from None
    return v


class TranslationMap(_Strict):
    schema_version: int = MAP_SCHEMA
    app: str  # the app kind: comfyui, a1111, lmstudio, ...
    version_range: str = "*"
    variant: str = "default"
    install: str | None = None  # set: a per-install override for that install name
    base: str = "models"  # "models" = the install's models folder; else relative to the install root
    description: str = ""
    exclude: MapExclude = Field(default_factory=MapExclude)
    discovered_folders: list[str] = Field(default_factory=list)  # informational, written by pumas
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("schema_version")
    @classmethod
    def _schema(cls, v: int) -> int:
        if v > MAP_SCHEMA or v < 1:
            raise ValueError(f"schema_version {v} is not supported by this pumas (it reads {MAP_SCHEMA})")
        return v

    @field_validator("app")
    @classmethod
    def _kind(cls, v: str) -> str:
        if not _KIND.match(v):
            raise ValueError(f"app kind {v!r} must be lowercase letters, digits, '.', '_' or '-'")
        return v

    @field_validator("version_range")
    @classmethod
    def _range(cls, v: str) -> str:
        return _valid_range(v)

    @field_validator("base")
    @classmethod
    def _base(cls, v: str) -> str:
        return v if v == "models" else _check_relative(v, "base", placeholders=False)

    def ordered_rules(self) -> list[Rule]:
        """Rules by priority, highest first; equal priorities keep file order."""
        return [r for _, r in sorted(enumerate(self.rules), key=lambda t: (-t[1].priority, t[0]))]


# -- text <-> map -------------------------------------------------------------


def parse_map(data: bytes | str, name: str) -> TranslationMap:
    """Validate map text; errors name ``name`` and the field (``rules[3].target``)."""
    hint = "unknown field (a typo? see contrib/maps/README.md for the fields a map may have)"
    return parse_model(data, TranslationMap, name, invalid="", unknown_field=hint)


def map_json(tmap: TranslationMap) -> str:
    """A map as readable JSON: identity fields always, empty match fields left out."""
    data = {
        "schema_version": tmap.schema_version,
        "app": tmap.app,
        "version_range": tmap.version_range,
        "variant": tmap.variant,
    }
    if tmap.install is not None:
        data["install"] = tmap.install
    data["base"] = tmap.base
    rest = tmap.model_dump(mode="json", exclude_defaults=True, exclude={"rules", *data})
    data.update(rest)
    data["rules"] = [
        {"name": r.name, "priority": r.priority, "target": r.target,
         **r.model_dump(mode="json", exclude_defaults=True, exclude={"name", "priority", "target"})}
        for r in tmap.rules
    ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
