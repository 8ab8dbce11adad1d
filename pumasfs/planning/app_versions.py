"""Which version an app install runs, read from the install's own files.

The version picks the translation map (a map names a PEP 440 range), so it
is read the way each app states it: ComfyUI in ``comfyui_version.py``, most
others in ``pyproject.toml``.  An install that does not say has no version
(``None``); nothing here guesses.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from packaging.version import InvalidVersion, Version

_COMFY_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


def clean_version(text: str) -> str | None:
    """``v0.3.10`` -> ``0.3.10``; None when the text is not a PEP 440 version."""
    text = text.strip()
    if text[:1] in ("v", "V"):
        text = text[1:]
    try:
        Version(text)
    except InvalidVersion:
        return None
    return text


def _pyproject_version(root: Path) -> str | None:
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    version = data.get("project", {}).get("version")
    return clean_version(version) if isinstance(version, str) else None


def read_app_version(kind: str, path: str | os.PathLike[str]) -> str | None:
    """The install's version, read from its own files; None when it does not say."""
    root = Path(path)
    if kind == "comfyui":
        try:
            m = _COMFY_VERSION.search((root / "comfyui_version.py").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            m = None
        if m and (v := clean_version(m.group(1))):
            return v
    return _pyproject_version(root)


def version_key(v: str | None, fallback: str) -> tuple[int, Version, str]:
    """Sort key: versions in PEP 440 order, then what has none, by ``fallback`` (a folder name)."""
    try:
        return (0, Version(v or ""), fallback)
    except InvalidVersion:
        return (1, Version("0"), fallback)
