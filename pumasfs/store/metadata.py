"""The file formats a model folder holds: ``metadata.json`` and ``overrides.json``.

``metadata.json`` is the single source of truth for a model; everything else
(models.db, links, views) is derived from it.  Unknown keys survive a rewrite
(``extra="allow"``), so a newer pumas or another tool can add fields without
this version erasing them.  Fields a user set by hand are listed in
``user_edited`` and automatic enrichment never overwrites them.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pumasfs.base import atomic
from pumasfs.base.errors import PumasError
from pumasfs.base.jsonfile import read_model
from pumasfs.base.jsonfile import validation_error_line as validation_error_line  # re-exported for older callers

SCHEMA_VERSION = 1
METADATA_FILE = "metadata.json"
OVERRIDES_FILE = "overrides.json"

# Fields a user may set with `pumas edit`.  Identity fields (model_type, family,
# cleaned_name) move the model folder; the library handles that.
EDITABLE_FIELDS = frozenset(
    {
        "official_name", "cleaned_name", "family", "model_type", "subtype", "variant",
        "precision", "tags", "base_model", "preview_image", "release_date", "download_url",
        "compatible_apps", "notes", "inference_settings", "model_card", "trigger_words", "description",
    }
)
LIST_FIELDS = frozenset({"tags", "compatible_apps", "trigger_words"})
_UNIQUE_LISTS = ("tags", "compatible_apps", "trigger_words")  # kept in order, without repeats
DICT_FIELDS = frozenset({"inference_settings", "model_card"})


def utcnow() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", validate_assignment=True)


class Hashes(_Open):
    sha256: str | None = None
    blake3: str | None = None


class FileEntry(_Open):
    """One file of a model, path relative to the model folder (posix)."""

    name: str
    original_name: str
    size: int
    sha256: str | None = None
    blake3: str | None = None
    role: str = "weights"  # weights | config | preview | info | other


class Pin(_Open):
    """A pinned placement: this model sits at ``path`` in install ``app``, whatever the map says.

    ``path`` is relative to the folder the install's map is based on (its
    models folder, usually).  ``files`` maps app-relative paths to files of
    the model folder exactly (adoption writes it: the weights and each
    companion where they were found); empty means the main file at ``path``
    and its companions named after it, as the map would place them.
    """

    app: str
    path: str
    files: dict[str, str] = Field(default_factory=dict)


class CivitaiInfo(_Open):
    """What CivitAI says about a model (issue 12): one version of one CivitAI model.

    ``trust`` says how we know: "hash" (CivitAI has a file with these exact
    bytes) or "user" (``pumas link``: kept until the user links again;
    enrichment never replaces it).
    """

    model_id: int
    version_id: int
    model_name: str = ""
    version_name: str = ""
    creator: str | None = None
    url: str = ""  # the model page, on this version
    air: str | None = None
    base_model: str | None = None  # CivitAI's word ("SDXL 1.0", "Pony"...); the header decides placement
    base_model_type: str | None = None
    type: str | None = None  # CivitAI's model type: Checkpoint, LORA, TextualInversion, VAE, ...
    file_type: str | None = None  # the file's type on CivitAI: Model, Pruned Model, VAE, ...
    file_name: str | None = None
    nsfw_level: int | None = None
    nsfw: bool = False
    tags: list[str] = Field(default_factory=list)
    published_at: str | None = None
    trust: Literal["hash", "user"] = "hash"
    sha256: str | None = None  # the matched file's SHA256 on CivitAI
    checked: str | None = None


class ModelMetadata(_Open):
    schema_version: int = SCHEMA_VERSION
    model_id: str
    family: str
    model_type: str
    subtype: str | None = None
    official_name: str
    cleaned_name: str
    variant: str | None = None
    precision: str | None = None
    tags: list[str] = Field(default_factory=list)
    base_model: str | None = None
    preview_image: str | None = None
    release_date: str | None = None
    download_url: str | None = None
    model_card: dict[str, Any] = Field(default_factory=dict)
    inference_settings: dict[str, Any] = Field(default_factory=dict)
    compatible_apps: list[str] = Field(default_factory=list)
    hashes: Hashes = Field(default_factory=Hashes)
    notes: str = ""
    added_date: str = Field(default_factory=utcnow)
    updated_date: str = Field(default_factory=utcnow)
    size_bytes: int = 0
    approx_weight_size_gb: float = 0.0
    files: list[FileEntry] = Field(default_factory=list)

    # Beyond the seed's schema.
    original_name: str | None = None
    format: str | None = None  # safetensors, gguf, pickle, diffusers-folder, sharded-set, ...
    layout: str = "file"  # "file": links go to primary_file; "folder": the model folder is one entry
    primary_file: str | None = None  # the weights file an app loads (relative to the folder)
    param_count: int | None = None
    unsafe_format: bool = False
    identification: dict[str, Any] = Field(default_factory=dict)  # confidence, evidence, warnings
    match_method: str = "none"  # hash | filename_exact | filename_fuzzy | none
    match_confidence: float = 0.0
    hub_repo: str | None = None
    hub_revision: str | None = None
    pending_online_lookup: bool = True
    user_edited: list[str] = Field(default_factory=list)
    pins: list[Pin] = Field(default_factory=list)  # pinned placements (pumas adopt, pumas pin)

    # CivitAI (issue 12).  civitai_checked: when CivitAI last answered about these
    # bytes (None: that lookup is still pending, `pumas enrich` catches up).
    civitai: CivitaiInfo | None = None
    civitai_checked: str | None = None
    trigger_words: list[str] = Field(default_factory=list)
    description: str | None = None

    @model_validator(mode="after")
    def _dedupe(self) -> ModelMetadata:
        # One check of the three lists per model, not a validator per field: each Python call
        # from pydantic costs ~2 us, and a deep scan validates 10,000 models.  Written through
        # __dict__: an assignment would be validated (and run this again).
        fields = self.__dict__
        for name in _UNIQUE_LISTS:
            v = fields[name]
            if len(v) > 1 and len(set(v)) != len(v):
                fields[name] = list(dict.fromkeys(v))
        return self

    def pins_of(self, app: str) -> list[Pin]:
        return [p for p in self.pins if p.app == app]

    def weight_files(self) -> list[FileEntry]:
        return [f for f in self.files if f.role == "weights"]

    def apply_enrichment(self, fields: dict[str, Any]) -> list[str]:
        """Set automatically found fields, skipping the ones a user edited.

        Returns the names of the fields that changed.
        """
        changed = []
        for key, value in fields.items():
            if key in self.user_edited or value is None:
                continue
            if getattr(self, key, None) != value:
                setattr(self, key, value)
                changed.append(key)
        return changed

    def apply_user_edit(self, key: str, value: Any) -> None:
        if key not in EDITABLE_FIELDS:
            raise PumasError(f"field {key!r} cannot be edited (editable: {', '.join(sorted(EDITABLE_FIELDS))})")
        try:
            setattr(self, key, value)
        except ValidationError as e:
            raise PumasError(f"invalid value for {key!r}: {e.errors()[0]['msg']}") from None
        if key not in self.user_edited:
            self.user_edited = [*self.user_edited, key]


def parse_edit_value(key: str, raw: str) -> Any:
    """Turn ``--set key=value`` text into the field's type."""
    if key in LIST_FIELDS:
        return [t.strip() for t in raw.split(",") if t.strip()]
    if key in DICT_FIELDS:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as e:
            raise PumasError(f"{key} must be a JSON object: {e.msg}") from None
        if not isinstance(value, dict):
            raise PumasError(f"{key} must be a JSON object")
        return value
    return raw if raw != "" else None


def known_vocabulary() -> dict[str, frozenset[str]]:
    """The values pumas itself knows for the fields ``--set`` checks (identification's vocabulary)."""
    from pumasfs.identify import vocab as V

    # FAMILIES is what identification can name; "llama" stands for the LLM architectures a GGUF
    # header names (the library's own values add the rest), "unknown" is what unidentified files get.
    families = set(V.FAMILIES) | {"llama", V.UNKNOWN}
    return {"model_type": frozenset(V.MODEL_TYPES), "subtype": frozenset(V.SUBTYPES), "family": frozenset(families)}


def check_vocabulary(changes: dict[str, Any], *, seen: dict[str, set[str]] | None = None,
                     force: bool = False) -> None:
    """Refuse a model_type, subtype or family nobody knows, unless forced.

    A typo there moves the model to a folder no map reads (``sdxxl``), so an
    unknown value needs ``--force``.  ``seen`` adds the values the library
    already holds (an LLM architecture named by a GGUF header, say).
    """
    if force:
        return
    known = known_vocabulary()
    for key, allowed in known.items():
        value = changes.get(key)
        if value is None or not isinstance(value, str):
            continue
        values = allowed | frozenset((seen or {}).get(key, set()))
        if value in values:
            continue
        near = [v for v in values if v.lower() == value.lower()]
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise PumasError(
            f"unknown {key} {value!r}: {hint}known: {', '.join(sorted(values))} (--force to set it anyway)"
        )


def load_metadata(model_dir: Path | str) -> ModelMetadata:
    # A plain string join: a deep scan calls this for every model folder.
    path = os.path.join(model_dir, METADATA_FILE)
    meta = read_model(path, ModelMetadata, invalid="invalid metadata")
    if meta is None:
        raise PumasError(f"{path}: no metadata.json")
    return meta


def save_metadata(model_dir: Path, meta: ModelMetadata, *, touch: bool = True) -> None:
    if touch:
        meta.updated_date = utcnow()
    data = meta.model_dump_json(indent=2, exclude_none=False) + "\n"
    atomic.write_bytes(Path(model_dir) / METADATA_FILE, data.encode("utf-8"))


class Overrides(_Open):
    """Per-model app version constraints: ``{"version_ranges": {"comfyui": ">=0.5,<0.7"}}``."""

    version_ranges: dict[str, str] = Field(default_factory=dict)

    @field_validator("version_ranges")
    @classmethod
    def _valid_specifiers(cls, v: dict[str, str]) -> dict[str, str]:
        for app, spec in v.items():
            if spec.strip() in ("", "*"):
                continue
            try:
                SpecifierSet(spec)
            except InvalidSpecifier:
                raise ValueError(f"version range for {app!r} is not a PEP 440 specifier: {spec!r}") from None
        return v

    def allows(self, app_kind: str, app_name: str, version: str | None) -> bool:
        """True when the model may be linked into this app at this version.

        A range can name the install or its kind; the install's name wins.
        An app whose version is unknown passes only unconstrained ranges.
        """
        spec = self.version_ranges.get(app_name, self.version_ranges.get(app_kind))
        if spec is None or spec.strip() in ("", "*"):
            return True
        if version is None:
            return False
        return SpecifierSet(spec).contains(version, prereleases=True)


def load_overrides(model_dir: Path | str) -> tuple[Overrides | None, str | None]:
    """(overrides, None), (None, None) when absent, or (None, error) when invalid."""
    try:
        return read_model(os.path.join(model_dir, OVERRIDES_FILE), Overrides), None
    except PumasError as e:
        return None, e.message
