"""Editing ComfyUI's ``extra_model_paths.yaml``: our one section, and not a byte more.

ComfyUI reads ``<install>/extra_model_paths.yaml`` at start-up
(``utils/extra_config.load_extra_path_config``): every top-level key is a
section of ``base_path`` plus ``<folder_key>: <path>`` lines (a ``|`` block
holds several paths).  Users keep their own sections there (an A1111 install,
a network share) with comments they wrote; StabilityMatrix regenerates the
whole file on every launch and its users lost those (#130, #541).  So this
module *edits* instead of regenerating:

- the file is parsed with a real YAML parser first, and one that is not valid
  YAML (or whose top level is not a mapping of sections) is refused and left
  alone;
- our section is found by its own top-level key (:data:`SECTION_KEY`) and
  replaced *textually*, between top-level boundaries, so every byte outside
  it (other sections, comments, key order, blank lines) stays as it was;
- the edited text is parsed again before it is written: our section must
  read back as exactly what we meant and every other section exactly as
  before, otherwise nothing is written (a layout we do not understand is
  refused, never guessed at);
- the write is atomic (temporary name, fsync, rename, fsync of the folder),
  keeps the file's mode and owner, and goes to the real file when the yaml is
  a symlink the user keeps elsewhere.

Appending a section to an existing file may need a separator (a newline the
file lacked, a blank line): that separator is returned as ``joiner`` so the
caller can record it and :func:`remove_section` takes it away again, giving
back the original bytes.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from pumasfs.base import atomic
from pumasfs.base.errors import PumasError, os_error_text

SECTION_KEY = "pumas"
FILE_NAME = "extra_model_paths.yaml"

# A top-level key line: `key:`, `"key":` or `'key':`, the colon followed by a
# space or the end of the line (what YAML itself requires of a block key).
_KEY_LINE = re.compile(
    r"""^(?:"(?P<dq>[^"\\]*)"|'(?P<sq>[^']*)'|(?P<plain>[^\s#'"?\-\[\]{}&*!|>%@`,][^#]*?))"""
    r"""[ \t]*:(?:[ \t\r]|$)"""
)
_SAFE_PLAIN = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9_./+-]*$")


class ExtraPathsError(PumasError):
    """The yaml cannot be edited safely; it was left untouched."""


class PumasSection(BaseModel):
    """Our section as ComfyUI reads it: a base path and ``folder_key -> paths`` (one per line)."""

    model_config = ConfigDict(extra="allow")

    base_path: str

    def folders(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, value in (self.model_extra or {}).items():
            if key == "is_default":
                continue
            out[key] = [line for line in str(value).split("\n") if line]
        return out


@dataclass(frozen=True)
class Span:
    """Lines ``[start, end)`` of one top-level section (its key line and its indented body)."""

    key: str | None  # None: top-level content that is not a plain `key:` line
    start: int
    end: int


# -- reading -------------------------------------------------------------------------


def decode(data: bytes, where: str | os.PathLike[str]) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ExtraPathsError(f"{where}: not UTF-8 text; left untouched") from None


def parse(text: str, where: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's top-level mapping, as ComfyUI's ``yaml.safe_load`` sees it (``{}`` for an empty file)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ExtraPathsError(f"{where}: not valid YAML{at}: {problem}; left untouched, fix it first") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ExtraPathsError(f"{where}: its top level is a {type(data).__name__}, not a mapping of sections "
                              "(ComfyUI cannot read it either); left untouched")
    return data


def our_section(data: dict[str, Any], where: str | os.PathLike[str]) -> PumasSection | None:
    """Our section as parsed, or None when the file has none."""
    raw = data.get(SECTION_KEY)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ExtraPathsError(f"{where}: its {SECTION_KEY!r} section is not a mapping")
    try:
        return PumasSection.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        raise ExtraPathsError(f"{where}: its {SECTION_KEY!r} section: {'.'.join(map(str, err['loc']))}: "
                              f"{err['msg']}") from None


def _line_key(line: str) -> str | None:
    m = _KEY_LINE.match(line)
    if not m:
        return None
    return m.group("dq") if m.group("dq") is not None else m.group("sq") if m.group("sq") is not None \
        else m.group("plain").rstrip()


def _is_top_level(line: str) -> bool:
    """A line at column 0 that is content (not blank, not a comment)."""
    return bool(line.strip()) and line[0] not in " \t#\r\n"


def sections(lines: list[str]) -> list[Span]:
    """The top-level spans of a block-mapping file.

    A span runs from its key line to its last indented (or continuation) line:
    blank lines and column-0 comments after that belong to what follows, so a
    comment a user wrote above their own next section stays with it.
    """
    out: list[Span] = []
    starts = [i for i, line in enumerate(lines) if _is_top_level(line.lstrip("\ufeff") if i == 0 else line)]
    for n, start in enumerate(starts):
        first = lines[start].lstrip("\ufeff") if start == 0 else lines[start]
        nxt = starts[n + 1] if n + 1 < len(starts) else len(lines)
        end = start + 1
        for j in range(start + 1, nxt):
            if lines[j].strip() and lines[j][0] in " \t":
                end = j + 1
        is_marker = first.startswith(("---", "...", "%"))
        out.append(Span(None if is_marker else _line_key(first), start, end))
    return out


# -- rendering -----------------------------------------------------------------------


def _scalar(text: str) -> str:
    """A YAML scalar for ``text``: plain when that is unambiguous, else double-quoted (JSON is valid YAML)."""
    return text if _SAFE_PLAIN.match(text) else json.dumps(text, ensure_ascii=False)


def render_section(base_path: str | os.PathLike[str], folders: dict[str, list[str]], *, note: str = "",
                   newline: str = "\n") -> str:
    """Our section's text: ``pumas:``, a note, ``base_path``, then one line (or ``|`` block) per folder key."""
    nl = newline
    out = [f"{SECTION_KEY}:{nl}"]
    if note:
        out += [f"  # {line}{nl}" for line in note.splitlines()]
    out.append(f"  base_path: {_scalar(str(base_path))}{nl}")
    for key, paths in folders.items():
        if not paths:
            continue
        if len(paths) == 1:
            out.append(f"  {_scalar(key)}: {_scalar(paths[0])}{nl}")
        elif all(_SAFE_PLAIN.match(p) for p in paths):
            out.append(f"  {_scalar(key)}: |{nl}")
            out += [f"    {p}{nl}" for p in paths]
        else:
            out.append(f"  {_scalar(key)}: {json.dumps(chr(10).join(paths), ensure_ascii=False)}{nl}")
    return "".join(out)


def expected_value(base_path: str | os.PathLike[str], folders: dict[str, list[str]]) -> dict[str, str]:
    """What ``yaml.safe_load`` must read back from :func:`render_section` (``|`` blocks end with a newline)."""
    out = {"base_path": str(base_path)}
    for key, paths in folders.items():
        if len(paths) == 1:
            out[key] = paths[0]
        elif len(paths) > 1:
            out[key] = "\n".join(paths) + ("\n" if all(_SAFE_PLAIN.match(p) for p in paths) else "")
    return out


# -- editing text --------------------------------------------------------------------


def _newline_of(lines: list[str]) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


def _ours(lines: list[str], where: str | os.PathLike[str]) -> Span | None:
    found = [s for s in sections(lines) if s.key == SECTION_KEY]
    if len(found) > 1:
        raise ExtraPathsError(f"{where}: has {len(found)} {SECTION_KEY!r} sections (lines "
                              f"{', '.join(str(s.start + 1) for s in found)}); remove all but one, then retry")
    return found[0] if found else None


def _check(old: dict[str, Any], new_text: str, want: dict[str, str] | None, where: str | os.PathLike[str]) -> None:
    """The edit changed our section only: refuse to write anything else."""
    try:
        new = parse(new_text, where)
    except ExtraPathsError:
        new = None
    others_old = [(k, v) for k, v in old.items() if k != SECTION_KEY]
    others_new = [(k, v) for k, v in (new or {}).items() if k != SECTION_KEY]
    ok = new is not None and others_old == others_new and (
        (want is None and SECTION_KEY not in new) or (want is not None and new.get(SECTION_KEY) == want)
    )
    if not ok:
        raise ExtraPathsError(f"{where}: its layout around the {SECTION_KEY!r} section is one pumas cannot edit "
                              "without touching other sections; left untouched (edit it by hand, or move the "
                              f"{SECTION_KEY!r} section to the end of the file)")


def set_section(text: str, block: str, want: dict[str, str], where: str | os.PathLike[str] = FILE_NAME
                ) -> tuple[str, str]:
    """Put ``block`` in place of our section (or append it); returns ``(new text, joiner)``.

    ``joiner`` is what was added in front of an appended section (a missing
    final newline, a blank line) so that removing the section later can
    restore the original bytes; it is ``""`` when the section was replaced in
    place.
    """
    old = parse(text, where)
    lines = text.splitlines(keepends=True)
    span = _ours(lines, where)
    if span is not None:
        new_text = "".join(lines[: span.start]) + block + "".join(lines[span.end:])
        joiner = ""
    else:
        nl = _newline_of(lines)
        if not text:
            joiner = ""
        elif not text.endswith(("\n", "\r")):
            joiner = nl + nl
        elif text.endswith(nl + nl) or not text.strip():
            joiner = ""
        else:
            joiner = nl
        new_text = text + joiner + block
    _check(old, new_text, want, where)
    return new_text, joiner


def remove_section(text: str, joiner: str = "", where: str | os.PathLike[str] = FILE_NAME) -> str | None:
    """The text without our section (and without the ``joiner`` we added before it); None if it had none."""
    old = parse(text, where)
    lines = text.splitlines(keepends=True)
    span = _ours(lines, where)
    if span is None:
        return None
    head = "".join(lines[: span.start])
    tail = "".join(lines[span.end:])
    if not tail and joiner and head.endswith(joiner):
        head = head[: len(head) - len(joiner)]
    new_text = head + tail
    _check(old, new_text, None, where)
    return new_text


# -- the file ------------------------------------------------------------------------


@dataclass(frozen=True)
class FileEdit:
    path: Path  # the real file (symlinks resolved)
    changed: bool  # False: the file already said exactly this
    created: bool = False  # the file did not exist before
    deleted: bool = False  # the file was ours and is now empty: removed
    joiner: str = ""


def real_path(path: Path) -> Path:
    """Edit the file a symlinked yaml points to: replacing the link would cut the user's own setup."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def read(path: Path) -> tuple[str | None, os.stat_result | None]:
    """The file's text and stat, or ``(None, None)`` when there is no file."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read()
    except FileNotFoundError:
        return None, None
    except OSError as e:
        raise ExtraPathsError(f"{path}: cannot read: {os_error_text(e)}") from None
    return decode(data, path), st


def _unchanged_since(path: Path, st: os.stat_result | None) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return st is None
    return st is not None and (now.st_ino, now.st_size, now.st_mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)


def _refuse_if_changed(path: Path, st: os.stat_result | None) -> None:
    """The last check before a write: someone (or ComfyUI Manager) edited the file since we read it."""
    if not _unchanged_since(path, st):
        raise ExtraPathsError(f"{path}: changed while pumas was editing it; left as it is now, retry")


def _replace(path: Path, data: bytes, like: os.stat_result | None, before: os.stat_result | None) -> None:
    """Atomic replace keeping mode and owner; refused when the file changed since it was read."""

    atomic.write_bytes(path, data, like=like, before_replace=lambda: _refuse_if_changed(path, before))


def write_section(path: Path, base_path: str | os.PathLike[str], folders: dict[str, list[str]], *,
                  note: str = "", dry_run: bool = False) -> FileEdit:
    """Make the file's pumas section say ``base_path`` + ``folders``; create the file if there is none."""
    path = real_path(path)
    text, st = read(path)
    lines = (text or "").splitlines(keepends=True)
    block = render_section(base_path, folders, note=note, newline=_newline_of(lines))
    want = expected_value(base_path, folders)
    if text is not None:
        span = _ours(lines, path)
        if span is not None and "".join(lines[span.start:span.end]) == block:
            parse(text, path)  # still refuse a file broken elsewhere: ComfyUI would not start
            return FileEdit(path, changed=False)
    new_text, joiner = set_section(text or "", block, want, path)
    if not dry_run:
        try:
            _replace(path, new_text.encode("utf-8"), st, st)
        except ExtraPathsError:
            raise
        except OSError as e:
            raise ExtraPathsError(f"{path}: cannot write: {os_error_text(e)}") from None
    return FileEdit(path, changed=True, created=text is None, joiner=joiner)


def drop_section(path: Path, *, created: bool = False, joiner: str = "", dry_run: bool = False) -> FileEdit:
    """Remove our section; delete the file too when we created it and nothing else is left in it."""
    path = real_path(path)
    text, st = read(path)
    if text is None:
        return FileEdit(path, changed=False)
    new_text = remove_section(text, joiner, path)
    if new_text is None:
        return FileEdit(path, changed=False)
    delete = created and not new_text.strip()
    if not dry_run:
        try:
            if delete:
                _refuse_if_changed(path, st)
                path.unlink()
                atomic.fsync_dir(path.parent)
            else:
                _replace(path, new_text.encode("utf-8"), st, st)
        except ExtraPathsError:
            raise
        except OSError as e:
            raise ExtraPathsError(f"{path}: cannot write: {os_error_text(e)}") from None
    return FileEdit(path, changed=True, deleted=delete)


def check_file(path: Path) -> PumasSection | None:
    """Parse the whole file (refusing invalid YAML) and return our section as it stands."""
    path = real_path(path)
    text, _ = read(path)
    if text is None:
        return None
    return our_section(parse(text, path), path)


# -- the folders the file adds (adoption, workflow checks) ----------------------------


class _Section(BaseModel):
    """Any section, as ComfyUI reads it: optional ``base_path`` and ``is_default``, then folder keys."""

    model_config = ConfigDict(extra="allow")
    base_path: str | None = None
    is_default: bool = False


def extra_folders(install: Path) -> tuple[dict[str, list[Path]], str | None]:
    """(folder key -> absolute folders, error line or None) from the install's yaml, if any.

    Facts from ComfyUI's ``utils/extra_config.load_extra_path_config``:
    ``base_path`` has ``~`` and ``$VARS`` expanded and is relative to the
    yaml's folder; every other key holds one path per line, joined to
    ``base_path`` (or to the yaml's folder when relative and no base is
    given), normalized.  Read only: a file we cannot read is reported, never
    raised, because callers (adoption, workflow checks) go on without it.
    """
    path = install / FILE_NAME
    try:
        text, _ = read(path)
        if text is None:
            return {}, None
        data = parse(text, path)
    except ExtraPathsError as e:
        return {}, str(e)
    out: dict[str, list[Path]] = {}
    here = path.parent.resolve()
    for name, body in data.items():
        if body is None:
            continue
        try:
            section = _Section.model_validate(body)
        except ValidationError:
            return out, f"{path}: section {name!r} is not a mapping of folder keys"
        base = None
        if section.base_path:
            base = os.path.expandvars(os.path.expanduser(section.base_path))
            if not os.path.isabs(base):
                base = os.path.abspath(os.path.join(here, base))
        for key, value in (section.model_extra or {}).items():
            if not isinstance(value, str):
                continue
            for line in value.split("\n"):
                line = line.strip()
                if not line:
                    continue
                full = os.path.join(base, line) if base else line if os.path.isabs(line) else os.path.join(here, line)
                out.setdefault(str(key), []).append(Path(os.path.normpath(full)))
    return out, None
