"""ComfyUI's ``extra_model_paths.yaml``: the folders it adds (read only, never rewritten).

Facts from ComfyUI's ``utils/extra_config.load_extra_path_config``: each
top-level section may have ``base_path`` (``~`` and ``$VARS`` expanded,
relative to the yaml's folder) and ``is_default``; every other key is a
folder key whose value holds one path per line, joined to ``base_path`` (or
to the yaml's folder when relative and no base is given), normalized.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

FILE_NAME = "extra_model_paths.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow")
    base_path: str | None = None
    is_default: bool = False


def extra_folders(install: Path) -> tuple[dict[str, list[Path]], str | None]:
    """(folder key -> absolute folders, error line or None) from the install's yaml, if any."""
    path = install / FILE_NAME
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as e:
        return {}, f"{path}: cannot read: {getattr(e, 'strerror', None) or e}"
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        return {}, f"{path}: not valid YAML ({str(e).splitlines()[0]})"
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return {}, f"{path}: expected sections of folder keys"
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
