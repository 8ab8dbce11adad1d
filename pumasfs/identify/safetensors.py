"""Read a safetensors header: 8-byte length, then that many bytes of JSON. Never the weights.

Cost is one open, two reads and one ``json.loads``: the floor the benchmark compares with.
Everything a hostile file can do wrong is a PumasError with the reason, never a traceback.
"""

from __future__ import annotations

import json
import os

from ..errors import PumasError
from .tensors import TensorTable

MAX_HEADER = 100 * 1024 * 1024  # the format's own reference reader refuses larger headers too


def read_header(fd: int, size: int, path: str) -> tuple[dict, dict]:
    """(tensor entries, __metadata__) from an open file descriptor."""
    if size < 8:
        raise PumasError(f"{path}: truncated safetensors file ({size} bytes, no header length)")
    head = os.pread(fd, 8, 0)
    n = int.from_bytes(head, "little")
    if n > MAX_HEADER:
        raise PumasError(f"{path}: safetensors header of {n} bytes is larger than the {MAX_HEADER >> 20} MB limit")
    if 8 + n > size:
        raise PumasError(f"{path}: safetensors header length {n} goes beyond the end of the file ({size} bytes)")
    raw = os.pread(fd, n, 8)
    if len(raw) != n:
        raise PumasError(f"{path}: truncated safetensors header")
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise PumasError(f"{path}: invalid safetensors header JSON ({e.__class__.__name__}: {str(e)[:80]})") from None
    if not isinstance(header, dict):
        raise PumasError(f"{path}: invalid safetensors header (not a JSON object)")
    meta = header.pop("__metadata__", None)
    if meta is not None and not isinstance(meta, dict):
        meta = {}
    return header, meta or {}


def table_from_header(header: dict, data_size: int, path: str) -> TensorTable:
    """The header dict itself becomes the table; entries are validated in the one stats pass."""
    for v in header.values():  # cheap spot check of the first entry's structure
        if not isinstance(v, dict) or "shape" not in v or "dtype" not in v or "data_offsets" not in v:
            raise PumasError(f"{path}: invalid safetensors header (tensor entry without dtype/shape/data_offsets)")
        break
    return TensorTable(header, raw=True, data_size=data_size)
