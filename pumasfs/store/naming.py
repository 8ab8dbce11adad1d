"""Names that are safe everywhere a library may travel.

Every name we create must survive a copy to an NTFS or exFAT drive and be
harmless in a shell: no path separators, no control characters, none of
Windows' reserved device names, no trailing dots or spaces, at most 255 bytes
of UTF-8.  Readable slugs name model folders.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_NAME_BYTES = 255
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)
_SLUG_DROP = re.compile(r"[^a-z0-9._+-]+")
_SHARD_PART = re.compile(r"-\d{5}-of-\d{5}(?=\.)")
# A name safe_filename would return unchanged: ASCII without forbidden characters, a stem that
# neither starts nor ends with a dot or a space, and a short extension.  Most model file names are
# like this, and checking it is several times cheaper than the full treatment (a 10,000-model plan
# makes every name safe).
_PLAIN = re.compile(r"[A-Za-z0-9_+()\[\]-](?:[A-Za-z0-9_+()\[\]. -]*[A-Za-z0-9_+()\[\]-])?\.[A-Za-z0-9_-]{1,32}")


def text_of(name: str) -> str:
    """A file name as valid text: bytes that are not UTF-8 (kept by Python as
    surrogate escapes) become U+FFFD, so the name can be written to JSON."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def short_hash(text: str, n: int = 6) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def safe_filename(name: str, *, fallback: str = "model") -> str:
    """Make one path component NTFS-safe while keeping it recognisable.

    The extension is kept through truncation so an app still knows the type.
    """
    if len(name) <= MAX_NAME_BYTES and _PLAIN.fullmatch(name) and name.split(".")[0].upper() not in _RESERVED:
        return name
    name = unicodedata.normalize("NFC", text_of(name))
    name = _FORBIDDEN.sub("_", name)
    name = name.strip().rstrip(". ")
    if name in ("", ".", "..") or set(name) <= {"."}:
        name = fallback
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    ext = truncate_utf8(ext, 32)
    suffix = f".{ext}" if ext else ""
    stem = truncate_utf8(stem, MAX_NAME_BYTES - len(suffix.encode("utf-8"))).rstrip(". ") or fallback
    return stem + suffix


def slugify(text: str, *, fallback: str = "model", max_bytes: int = 96) -> str:
    """A readable lowercase slug: ``"Juggernaut XL v9 (RunDiffusion)" -> "juggernaut-xl-v9-rundiffusion"``."""
    text = unicodedata.normalize("NFKD", text_of(text)).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[\s_]+", "-", text)
    text = _SLUG_DROP.sub("-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-.")
    text = text[:max_bytes].strip("-.")
    if not text or text.upper() in _RESERVED:
        text = f"{fallback}-{short_hash(text or fallback)}" if not text else f"{text}-model"
    return text


def stem_of(filename: str) -> str:
    """Name without the weights extension (and without a shard suffix)."""
    base = filename.rsplit("/", 1)[-1]
    if "-of-" in base:
        base = _SHARD_PART.sub("", base)
    return base.rsplit(".", 1)[0] if "." in base.strip(".") else base


def disambiguate(name: str, key: str) -> str:
    """A stable, distinct variant of ``name`` derived from ``key`` (a model id)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    suffix = f"-{short_hash(key)}"
    stem = truncate_utf8(stem, MAX_NAME_BYTES - len(suffix) - len(ext) - 1)
    return f"{stem}{suffix}.{ext}" if ext else f"{stem}{suffix}"
