"""Read a safetensors header: 8-byte length, then that many bytes of JSON. Never the weights.

Cost is one open, two reads and one ``json.loads``: the floor the benchmark compares with.
Everything a hostile file can do wrong is a PumasError with the reason, never a traceback.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pumasfs.base.errors import PumasError
from pumasfs.identify.tensors import TensorTable

MAX_HEADER = 100 * 1024 * 1024  # the format's own reference reader refuses larger headers too


def read_header(fd: int, size: int, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
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
    except RecursionError:
        # json.loads recurses once per nesting level: 50,000 "[" in __metadata__ exhaust the stack.
        raise PumasError(f"{path}: invalid safetensors header (JSON nested too deep)") from None
    if not isinstance(header, dict):
        raise PumasError(f"{path}: invalid safetensors header (not a JSON object)")
    meta = header.pop("__metadata__", None)
    if meta is not None and not isinstance(meta, dict):
        meta = {}
    return header, meta or {}


# Bytes per element of each dtype the format defines; others (newer ones) skip the size check.
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4, "I16": 2,
               "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "C64": 8}


def table_from_header(header: dict[str, Any], data_size: int, path: str) -> TensorTable:
    """The header dict itself becomes the table; its offsets are checked as the format demands."""
    for v in header.values():  # cheap spot check of the first entry's structure
        if not isinstance(v, dict) or "shape" not in v or "dtype" not in v or "data_offsets" not in v:
            raise PumasError(f"{path}: invalid safetensors header (tensor entry without dtype/shape/data_offsets)")
        break
    check_offsets(header, path)
    return TensorTable(header, raw=True, data_size=data_size)


def check_offsets(header: dict[str, Any], path: str) -> None:
    """The format's own rule (its reference reader's ``validate``): sorted by offset, tensors are
    contiguous from 0, none negative or overlapping, each exactly as long as its dtype and shape say.

    A file that breaks it is not a safetensors file, whatever loads it would read (another
    tensor's bytes, or bytes from before the data).  One pass in C plus one loop over the entries.
    """
    try:
        spans = sorted((o[0], o[1], k) for k, v in header.items() for o in (v["data_offsets"],))
    except (TypeError, KeyError, IndexError):
        raise PumasError(f"{path}: invalid safetensors header (data_offsets is not a [begin, end] pair)") from None
    at = 0
    for begin, end, name in spans:
        if not isinstance(begin, int) or not isinstance(end, int) or isinstance(begin, bool):
            raise PumasError(f"{path}: invalid safetensors header (tensor {name!r}: data offsets are not integers)")
        if begin < 0 or end < begin:
            raise PumasError(
                f"{path}: invalid safetensors header (tensor {name!r}: offsets [{begin}, {end}] are negative or reversed)"
            )
        if begin != at:
            what = "overlap the previous tensor" if begin < at else f"leave a gap after byte {at}"
            raise PumasError(f"{path}: invalid safetensors header (tensor {name!r}: offsets [{begin}, {end}] {what})")
        entry = header[name]
        width = DTYPE_BYTES.get(entry.get("dtype"))
        shape = entry.get("shape")
        if width is not None and isinstance(shape, list) and all(type(d) is int for d in shape):
            n = width
            for d in shape:
                n *= d
            if n != end - begin:
                raise PumasError(
                    f"{path}: invalid safetensors header (tensor {name!r}: offsets [{begin}, {end}] hold "
                    f"{end - begin} bytes, its dtype and shape need {n})"
                )
        at = end
