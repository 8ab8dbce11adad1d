"""Turning the paths a user names into import units: one unit, one model.

A model is not always one file.  A single weights file brings its companions
(same stem: a ``.yaml`` config, a preview image, a ``.json`` or
``.civitai.info`` description) along; a Diffusers folder, a transformers
folder (``config.json`` + weights), a PEFT adapter folder and a sharded set
(``*-0000N-of-0000M.*`` with its ``*.index.json``) are one model each and are
kept whole, subfolders included.  A folder that merely collects models (a
Downloads folder) is not a model: each weights file in it becomes its own
unit.  An incomplete sharded set is refused, naming what is missing.

Nothing here reads more than names and, for sharded sets, the small index
JSON; identification happens later, from the files' headers.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from pumasfs.identify import SHARD_RE, WEIGHT_EXTENSIONS
from pumasfs.identify import vocab as V
from pumasfs.identify.folders import folder_kind

WEIGHT_EXTS = WEIGHT_EXTENSIONS  # the identifier's list: what it can read is what we import
# Longest first: "x.preview.png" is a preview of "x", not a ".png" of "x.preview".
COMPANION_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".preview.png", "preview"),
    (".preview.jpg", "preview"),
    (".preview.jpeg", "preview"),
    (".preview.webp", "preview"),
    (".civitai.info", "info"),
    (".yaml", "config"),
    (".png", "preview"),
    (".jpg", "preview"),
    (".jpeg", "preview"),
    (".webp", "preview"),
    (".json", "info"),
)
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")
CONFIG_EXTS = (".json", ".yaml", ".yml", ".txt", ".model", ".tiktoken", ".py", ".jinja")
INFO_EXTS = (".md", ".info")

# File stems that say nothing about the model ("model.safetensors"): the folder names it better.
GENERIC_STEMS = frozenset(
    {
        "model", "pytorch_model", "diffusion_pytorch_model", "adapter_model", "consolidated",
        "weights", "tf_model", "flax_model", "model_fp16", "unet", "vae",
    }
)



@dataclass(frozen=True)
class UnitFile:
    source: Path  # the file to read
    rel: str  # its place inside the model, posix, as named at the source
    role: str  # weights | config | preview | info | other


@dataclass
class ImportUnit:
    """One model to import: its files, which one is the weights an app loads, a name hint."""

    kind: str  # file | diffusers | transformers | peft | sharded
    source: Path  # what the user's path pointed at for this model (file or folder)
    files: list[UnitFile]
    primary: str  # rel of the main weights file
    name_hint: str
    note: str | None = None

    @property
    def layout(self) -> str:
        return "file" if self.kind == "file" else "folder"

    @property
    def size(self) -> int:
        return sum(_size(f.source) for f in self.files)

    @property
    def primary_source(self) -> Path:
        return next(f.source for f in self.files if f.rel == self.primary)

    @property
    def identify_target(self) -> Path:
        """What the identifier should look at: the folder for folder models, else the weights file."""
        return self.source if self.kind in ("diffusers", "transformers", "peft") else self.primary_source


@dataclass(frozen=True)
class UnitError:
    source: Path
    message: str
    missing: bool = False  # the path does not exist (exit code 4, like every missing path)


@dataclass
class Grouping:
    units: list[ImportUnit] = field(default_factory=list)
    errors: list[UnitError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, result: ImportUnit | UnitError) -> None:
        if isinstance(result, UnitError):
            self.errors.append(result)
        else:
            self.units.append(result)


class _ShardIndex(BaseModel):
    """``*.index.json`` of a sharded set (transformers/diffusers): which file holds each tensor."""

    model_config = ConfigDict(extra="allow")
    weight_map: dict[str, str] = {}


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def is_weights(name: str) -> bool:
    return name.lower().endswith(WEIGHT_EXTS)


def role_of(name: str) -> str:
    low = name.lower()
    if is_weights(low):
        return "weights"
    if low.endswith(IMAGE_EXTS):
        return "preview"
    if low.endswith(".civitai.info") or low.endswith(INFO_EXTS):
        return "info"
    if low.endswith(CONFIG_EXTS):
        return "config"
    return "other"


def _weights_stem(name: str) -> str:
    low = name.lower()
    for ext in WEIGHT_EXTS:
        if low.endswith(ext):
            return name[: -len(ext)]
    return name


def sibling_index(entries: Iterable[os.DirEntry[str]]) -> dict[str, list[os.DirEntry[str]]]:
    """A folder's entries by lowercased name: companions are found by lookup, not by a scan per file
    (a folder of 3,000 LoRAs took 18 s to group with a scan per file)."""
    out: dict[str, list[os.DirEntry[str]]] = {}
    for e in entries:
        out.setdefault(e.name.lower(), []).append(e)
    return out


def companions_of(weights: Path, siblings: dict[str, list[os.DirEntry[str]]] | None = None) -> list[UnitFile]:
    """Files beside ``weights`` with the same stem and a companion suffix (``siblings``: its folder's
    ``sibling_index``, when the caller already listed it)."""
    stem = _weights_stem(weights.name)
    out: list[UnitFile] = []
    taken: set[str] = set()
    if siblings is None:
        try:
            siblings = sibling_index(os.scandir(weights.parent))
        except OSError:
            return out
    for suffix, role in COMPANION_SUFFIXES:
        for entry in siblings.get((stem + suffix).lower(), ()):
            name = entry.name
            if name in taken or len(name) != len(stem) + len(suffix):
                continue
            if name.startswith(stem) and name[len(stem):].lower() == suffix and _regular(Path(entry.path)):
                taken.add(name)
                out.append(UnitFile(Path(entry.path), name, role))
    return sorted(out, key=lambda f: f.rel)


def _regular(p: Path) -> bool:
    try:
        return stat.S_ISREG(p.stat().st_mode)
    except OSError:
        return False


def _name_hint(stem: str, folder: Path) -> str:
    if stem.lower() in GENERIC_STEMS and folder.name:
        return folder.name
    return stem


def link_escape(path: Path, top: Path) -> str | None:
    """Where ``path`` leads if it is a symlink out of the imported folder ``top``; None if it stays inside.

    A folder import copies what its links point to, so a link to ``/etc/passwd`` would put that
    file into the library (and into apps) as a model's README.  Links are followed only inside the
    imported folder, or, for a Hugging Face cache snapshot (``models--x/snapshots/<rev>/``, whose
    files are links into ``models--x/blobs/``), inside that same repo's blobs.
    """
    if not path.is_symlink():
        return None
    real = os.path.realpath(path)
    top_real = os.path.realpath(top)
    if real == top_real or real.startswith(top_real + os.sep):
        return None
    parts = Path(top_real).parts
    if "snapshots" in parts:
        repo = Path(*parts[: len(parts) - 1 - parts[::-1].index("snapshots")])
        blobs = str(repo / "blobs")
        if real.startswith(blobs + os.sep):
            return None
    return real


def _escapes(files: list[UnitFile], top: Path | None) -> UnitError | None:
    if top is None:
        return None
    for f in files:
        target = link_escape(f.source, top)
        if target is not None:
            return UnitError(
                f.source, f"is a link to {target}, outside the imported folder {top}: refused "
                "(import that file on its own if you mean it)",
            )
    return None


def _walk_files(root: Path) -> list[UnitFile]:
    """Every regular file under ``root`` (hidden ones and symlinked folders skipped), sorted."""
    out = []
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.name.startswith("."):
                continue  # .git, .cache (huggingface), .DS_Store: not part of the model
            p = Path(e.path)
            if e.is_dir(follow_symlinks=False):
                stack.append(p)
            elif _regular(p):
                rel = p.relative_to(root).as_posix()
                out.append(UnitFile(p, rel, role_of(e.name)))
    return sorted(out, key=lambda f: f.rel)


# -- sharded sets ----------------------------------------------------------------


@dataclass(frozen=True)
class _ShardKey:
    folder: Path
    prefix: str
    total: int
    ext: str

    @property
    def pattern(self) -> str:
        return f"{self.prefix}-*-of-{self.total:05d}{self.ext}"

    def shard_name(self, i: int) -> str:
        return f"{self.prefix}-{i:05d}-of-{self.total:05d}{self.ext}"

    @property
    def index_name(self) -> str:
        return f"{self.prefix}{self.ext}.index.json"


def _shard_key(p: Path) -> _ShardKey | None:
    m = SHARD_RE.match(p.name)
    if not m or not is_weights(p.name) or int(m["total"]) < 1:
        return None
    return _ShardKey(p.parent, m["stem"], int(m["total"]), m["suffix"])


def _sharded_unit(key: _ShardKey, name_hint: str | None = None) -> ImportUnit | UnitError:
    shards = [key.folder / key.shard_name(i) for i in range(1, key.total + 1)]
    missing = [s.name for s in shards if not _regular(s)]
    if missing:
        have = key.total - len(missing)
        return UnitError(
            key.folder / key.pattern,
            f"incomplete sharded set {key.pattern}: missing {', '.join(missing[:5])}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            + f" ({have} of {key.total} present)",
        )
    files = [UnitFile(s, s.name, "weights") for s in shards]
    index = key.folder / key.index_name
    if _regular(index):
        problem = _check_index(index, {s.name for s in shards})
        if problem:
            return UnitError(index, problem)
        files.append(UnitFile(index, index.name, "config"))
    stem = _name_hint(key.prefix, key.folder) if name_hint is None else name_hint
    return ImportUnit("sharded", shards[0], files, shards[0].name, stem)


def _check_index(index: Path, present: set[str]) -> str | None:
    try:
        parsed = _ShardIndex.model_validate_json(index.read_bytes())
    except (OSError, ValidationError, ValueError) as e:
        return f"unreadable shard index: {getattr(e, 'strerror', None) or 'not valid JSON'}"
    wanted = sorted(set(parsed.weight_map.values()) - present)
    if wanted:
        return f"incomplete sharded set: {index.name} lists {', '.join(wanted[:5])}, which is missing"
    return None


def _index_json_set(index: Path) -> ImportUnit | UnitError | None:
    """A ``*.index.json`` named on its own stands for its sharded set."""
    try:
        parsed = _ShardIndex.model_validate_json(index.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None
    for name in sorted(set(parsed.weight_map.values())):
        key = _shard_key(index.parent / name)
        if key is not None:
            return _sharded_unit(key)
    return None


# -- folders -----------------------------------------------------------------------


# identify's folder kinds -> the import unit kinds that are a whole folder
_FOLDER_UNIT = {V.DIFFUSERS_FOLDER: "diffusers", V.PEFT_FOLDER: "peft", V.TRANSFORMERS_FOLDER: "transformers"}


def _folder_kind(d: Path) -> str | None:
    """The unit kind of a folder that is one model (identify's classifier, asked the importer's question)."""
    kind = folder_kind(d, with_weights=True)
    return _FOLDER_UNIT.get(kind) if kind else None


def _whole_folder_unit(d: Path, kind: str, top: Path | None = None) -> ImportUnit | UnitError:
    files = _walk_files(d)
    escape = _escapes(files, top or d)
    if escape is not None:
        return escape
    weights = [f for f in files if f.role == "weights"]
    if not weights:
        return UnitError(d, f"{kind} folder without weights files")
    # Every sharded set inside must be whole.
    seen: set[_ShardKey] = set()
    for f in weights:
        key = _shard_key(f.source)
        if key is not None and key not in seen:
            seen.add(key)
            result = _sharded_unit(key)
            if isinstance(result, UnitError):
                return UnitError(d, f"{d.name}: {result.message}")
    primary = _primary_of(weights, kind)
    return ImportUnit(kind, d, files, primary.rel, d.name)


def _primary_of(weights: list[UnitFile], kind: str) -> UnitFile:
    """The file that best stands for the model: the denoiser of a pipeline, else the biggest."""
    if kind == "diffusers":
        for sub in ("transformer/", "unet/", "prior/", "decoder/"):
            inside = [w for w in weights if w.rel.startswith(sub)]
            if inside:
                weights = inside
                break
    shards_first = sorted(weights, key=lambda w: (-_size(w.source), w.rel))
    first = shards_first[0]
    key = _shard_key(first.source)
    if key is not None:  # the first shard of the set, whichever is biggest
        name = key.shard_name(1)
        for w in weights:
            if w.source.name == name and w.source.parent == first.source.parent:
                return w
    return first


def _collection_units(d: Path, out: Grouping, top: Path | None = None, links: bool = True) -> int:
    """A folder that is not one model: each model inside is its own unit.  Returns how many.

    ``links=False``: weights files that are symlinks are not units (see :func:`group_paths`).
    """
    found = 0
    try:
        entries = sorted(os.scandir(d), key=lambda e: e.name)
    except OSError as err:
        out.errors.append(UnitError(d, f"cannot read folder: {err.strerror}"))
        return 0
    groups: dict[_ShardKey, None] = {}
    siblings = sibling_index(entries)
    for e in entries:
        if e.name.startswith(".") or (not links and e.is_symlink()):
            continue  # (a link is no unit then: skipped before paying for its Path)
        p = Path(e.path)
        if e.is_dir(follow_symlinks=False):
            found += _folder_units(p, out, nested=True, top=top or d, links=links)
        elif is_weights(e.name) and (links or not e.is_symlink()) and _regular(p):
            key = _shard_key(p)
            if key is not None:
                groups.setdefault(key)
                continue
            unit = _file_unit(p, siblings)
            escape = _escapes(unit.files, top or d)
            if escape is not None:
                out.errors.append(escape)
                continue
            out.units.append(unit)
            found += 1
    for key in groups:
        result = _sharded_unit(key)
        if not isinstance(result, UnitError):
            result = _escapes(result.files, top or d) or result
        if isinstance(result, UnitError):
            out.errors.append(result)
        else:
            out.units.append(result)
            found += 1
    return found


def _folder_units(d: Path, out: Grouping, nested: bool = False, top: Path | None = None, links: bool = True) -> int:
    kind = _folder_kind(d)
    if kind is not None:
        result = _whole_folder_unit(d, kind, top)
        if isinstance(result, UnitError):
            out.errors.append(result)
            return 0
        out.units.append(result)
        return 1
    before = len(out.units)
    found = _collection_units(d, out, top, links)
    if found == 0 and not nested:
        out.errors.append(
            UnitError(d, f"no model files in this folder (looked for {', '.join(WEIGHT_EXTS)})")
        )
    new = out.units[before:]
    if len(new) == 1 and new[0].kind in ("file", "sharded") and new[0].source.parent == d:
        # A folder holding one model is that model: let the folder name it if its file name is generic.
        unit = new[0]
        key = _shard_key(unit.primary_source)
        unit.name_hint = _name_hint(key.prefix if key else _weights_stem(unit.primary), d)
    elif len(new) > 1 and not nested:
        out.notes.append(f"{d}: not one model; importing the {len(new)} models in it separately")
    return found


def _file_unit(p: Path, siblings: dict[str, list[os.DirEntry[str]]] | None = None) -> ImportUnit:
    files = [UnitFile(p, p.name, "weights"), *companions_of(p, siblings)]
    return ImportUnit("file", p, files, p.name, _name_hint(_weights_stem(p.name), p.parent))


def group_paths(paths: Iterable[Path], *, links: bool = True) -> Grouping:
    """The import units for these paths, and a clear error for each path that is not a model.

    ``links=False`` leaves out weights files that are symlinks inside the folders named (adoption:
    it has sorted every link already, and a materialized install holds one per model, each of which
    would otherwise cost a ``realpath`` for the escape check).
    """
    out = Grouping()
    loose: list[Path] = []
    for raw in paths:
        p = Path(os.path.abspath(raw))  # keep symlinked names, drop ../ tricks
        try:
            st = p.stat()
        except FileNotFoundError:
            out.errors.append(UnitError(p, "no such file or folder", missing=True))
            continue
        except OSError as e:
            out.errors.append(UnitError(p, f"cannot read: {e.strerror}"))
            continue
        if stat.S_ISDIR(st.st_mode):
            _folder_units(p, out, links=links)
        elif not stat.S_ISREG(st.st_mode):
            out.errors.append(UnitError(p, "not a regular file"))
        elif is_weights(p.name):
            key = _shard_key(p)
            if key is None:
                out.units.append(_file_unit(p))
            else:
                out.add(_sharded_unit(key))
        elif p.name.lower().endswith(".index.json") and (indexed := _index_json_set(p)) is not None:
            out.add(indexed)
        else:
            loose.append(p)
    out.units = _dedupe(out.units)
    absorbed = {f.source for u in out.units for f in u.files}
    for p in loose:
        if p in absorbed:
            continue  # a companion named beside its model (`pumas import dir/*`)
        out.errors.append(
            UnitError(p, f"unsupported file type {p.suffix or '(no extension)'!r} (model files: {', '.join(WEIGHT_EXTS)})")
        )
    return out


def _dedupe(units: list[ImportUnit]) -> list[ImportUnit]:
    """Each model once, even when named twice or shard by shard (`dir/*.safetensors`)."""
    seen: set[Path] = set()
    out = []
    for u in units:
        key = u.primary_source
        if key in seen:
            continue
        seen.add(key)
        out.append(u)
    return out
